// Safety UI: "Are you sure?" before a flagged send, report, block, unmatch, and the peer's profile.
import { useState, type FormEvent } from "react";

import { api, call, type Schemas } from "../api/client";
import type { PendingMessage } from "../chat/engine";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { errorText } from "../lib/errorText";
import { Avatar, Dialog, Spinner } from "../ui/primitives";
import { toast } from "../ui/toasts";

type ReportReason = Schemas["ReportCreate"]["reason"];
type PublicProfile = Schemas["PublicProfile"];

const REPORT_REASONS: ReportReason[] = [
  "harassment",
  "sexual_content",
  "scam",
  "spam",
  "fake_profile",
  "underage",
  "hate",
  "violence",
  "self_harm",
  "off_platform",
  "other",
];

const FLAG_TO_REASON: Record<string, ReportReason> = {
  harassment: "harassment",
  sexual: "sexual_content",
  scam: "scam",
  money_request: "scam",
  off_platform_contact: "off_platform",
  self_harm: "self_harm",
  minor_risk: "underage",
};

export function reasonForFlags(flags: readonly string[]): ReportReason {
  for (const f of flags) {
    const r = FLAG_TO_REASON[f];
    if (r) return r;
  }
  return "other";
}

/** A warning flag or confirm category as words; the server's label when we do not know it. */
export function flagText(t: Translate, category: string, fallback?: string): string {
  const key = `flag.${category}` as MessageKey;
  const text = t(key);
  return text === key ? (fallback ?? t("flag.other")) : text;
}

export function ConfirmSendDialog({
  pending,
  onSend,
  onEdit,
}: {
  pending: PendingMessage;
  onSend: () => void;
  onEdit: () => void;
}) {
  const { t } = useI18n();
  const reasons = pending.reasons.length ? pending.reasons : [{ category: "other", label: "" }];
  return (
    <Dialog
      title={t("confirm.title")}
      icon="shield"
      tone="warning"
      onClose={onEdit}
      testId="confirm-send"
      footer={
        <>
          <button type="button" className="button" onClick={onEdit} data-autofocus>
            {t("confirm.edit")}
          </button>
          <button type="button" className="button primary" onClick={onSend}>
            {t("confirm.send_anyway")}
          </button>
        </>
      }
    >
      <p>{t("confirm.body")}</p>
      <ul className="reason-list">
        {reasons.map((r) => (
          <li key={r.category + r.label}>{flagText(t, r.category, r.label || undefined)}</li>
        ))}
      </ul>
      <blockquote className="quoted">{pending.body}</blockquote>
      <p className="dialog-note">{t("confirm.note")}</p>
    </Dialog>
  );
}

export function ReportDialog({
  peer,
  messageIds,
  initialReason,
  onClose,
  onDone,
}: {
  peer: { id: string; name: string };
  messageIds: string[];
  initialReason: ReportReason;
  onClose: () => void;
  onDone: (blocked: boolean) => void;
}) {
  const { t } = useI18n();
  const [reason, setReason] = useState<ReportReason>(initialReason);
  const [details, setDetails] = useState("");
  const [block, setBlock] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const receipt = await call(() =>
        api.POST("/api/v1/reports", {
          body: { user_id: peer.id, reason, details: details.trim(), message_ids: messageIds, block },
        }),
      );
      toast(t("report.thanks"), "success", { icon: "shield" });
      onDone(receipt.blocked);
    } catch (err) {
      setError(errorText(t, err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("report.title", { name: peer.name })} icon="flag" tone="danger" onClose={onClose} testId="report-dialog">
      <form onSubmit={submit} className="report-form">
        <fieldset className="field">
          <legend className="field-label">{t("report.why")}</legend>
          <div className="radio-list">
            {REPORT_REASONS.map((r) => (
              <label key={r} className={reason === r ? "radio-option active" : "radio-option"}>
                <input type="radio" name="reason" value={r} checked={reason === r} onChange={() => setReason(r)} />
                <span>{t(`report.reason.${r}`)}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <label className="field">
          <span className="field-label">{t("field.details")}</span>
          <textarea rows={3} maxLength={2000} value={details} onChange={(e) => setDetails(e.target.value)} placeholder={t("report.details_placeholder")} />
        </label>
        {messageIds.length > 0 && <p className="field-hint">{t("report.with_message")}</p>}
        <label className="checkbox">
          <input type="checkbox" checked={block} onChange={(e) => setBlock(e.target.checked)} />
          <span>{t("report.also_block", { name: peer.name })}</span>
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-footer">
          <button type="button" className="button" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="button danger" disabled={busy}>
            {busy ? <Spinner size={16} /> : t("report.submit")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ConfirmActionDialog({
  title,
  body,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  body: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog
      title={title}
      icon="alert"
      tone="danger"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} data-autofocus>
            {t("common.cancel")}
          </button>
          <button
            type="button"
            className="button danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
              } catch (err) {
                setError(errorText(t, err));
                setBusy(false);
              }
            }}
          >
            {busy ? <Spinner size={16} /> : confirmLabel}
          </button>
        </>
      }
    >
      <p>{body}</p>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}

export function ProfileDialog({ profile, onClose }: { profile: PublicProfile; onClose: () => void }) {
  const { t, lang } = useI18n();
  return (
    <Dialog title={profile.display_name} onClose={onClose}>
      <div className="profile-view">
        <Avatar name={profile.display_name} id={profile.id} size={88} />
        <p className="candidate-meta">
          <span>{t("profile.age_years", { n: profile.age })}</span>
          {profile.city && <span>{profile.city}</span>}
          <span>{t(`active.${profile.active}`)}</span>
        </p>
        {profile.bio && <p className="candidate-bio">{profile.bio}</p>}
        <ul className="chips">
          {profile.interests.map((i) => (
            <li key={i.id} className="chip">
              {lang === "zh-CN" ? i.zh : i.en}
            </li>
          ))}
        </ul>
      </div>
      <div className="dialog-footer">
        <button type="button" className="button" onClick={onClose} data-autofocus>
          {t("common.close")}
        </button>
      </div>
    </Dialog>
  );
}
