import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type KeyboardEvent,
} from "react";

import { api, call } from "../api/client";
import { toApiError } from "../api/errors";
import { dayLabel, timeLabel, withDaySeparators, type DayItem } from "../chat/days";
import { deliveryOf, type ConversationState, type DeliveryState, type PendingMessage } from "../chat/engine";
import type { Icebreaker, Message, Reply, Suggestions } from "../chat/types";
import { useI18n, type MessageKey } from "../i18n";
import { errorText } from "../lib/errorText";
import { relativeTime } from "../lib/format";
import { useStore } from "../lib/store";
import { navigate } from "../router";
import { useApp } from "../state/app";
import { Icon, type IconName } from "../ui/Icon";
import { Avatar, EmptyState, Spinner } from "../ui/primitives";
import { toast } from "../ui/toasts";
import {
  ConfirmActionDialog,
  ConfirmSendDialog,
  ProfileDialog,
  ReportDialog,
  flagText,
  reasonForFlags,
} from "./SafetyDialogs";

type Row =
  | { kind: "message"; key: string; message: Message; mine: boolean }
  | { kind: "pending"; key: string; pending: PendingMessage };

type DialogState =
  | { kind: "none" }
  | { kind: "report"; messageIds: string[]; flags: string[] }
  | { kind: "block" }
  | { kind: "unmatch" }
  | { kind: "profile" };

const STATUS_ICON: Record<DeliveryState, IconName> = {
  sending: "clock",
  failed: "alert",
  confirm: "shield",
  sent: "check",
  delivered: "checks",
  read: "checks",
};

export function ChatView({ conversationId }: { conversationId: string }) {
  const { t, lang } = useI18n();
  const app = useApp();
  const engine = app.engine;
  const snap = useSyncExternalStore(engine.subscribe, engine.getSnapshot);
  const conv = snap.conversations[conversationId];
  const matches = useStore(app.matches);
  const matchesLoaded = useStore(app.matchesLoaded);
  const prefs = useStore(app.prefs);
  const ai = useStore(app.ai);
  const match = matches[conversationId];
  const peer = match?.peer;
  const peerName = peer?.display_name ?? t("chat.someone");
  const aiOn = prefs?.ai_enabled !== false;

  const [draft, setDraft] = useState("");
  const [fromSuggestion, setFromSuggestion] = useState<string | null>(null);
  const [loadingHistory, setLoadingHistory] = useState(false);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const [helping, setHelping] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const [dialog, setDialog] = useState<DialogState>({ kind: "none" });
  const [dismissedWarnings, setDismissedWarnings] = useState<string[]>([]);
  const [showNewPill, setShowNewPill] = useState(false);
  const [iceDismissed, setIceDismissed] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const nearBottom = useRef(true);
  const lastCount = useRef(0);

  // This conversation is on screen: read receipts go out while the page is visible.
  useEffect(() => {
    engine.setActive(conversationId, document.visibilityState === "visible");
    return () => engine.setActive(null);
  }, [engine, conversationId]);

  // The newest page of history, once.
  const historyLoaded = conv?.historyLoaded ?? true;
  useEffect(() => {
    if (historyLoaded) return;
    let alive = true;
    setLoadingHistory(true);
    call(() =>
      api.GET("/api/v1/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: conversationId }, query: { limit: 50 } },
      }),
    )
      .then((page) => alive && engine.loadPage(conversationId, page, "latest"))
      .catch((err: unknown) => alive && setHistoryError(errorText(t, err)))
      .finally(() => alive && setLoadingHistory(false));
    return () => {
      alive = false;
    };
  }, [engine, conversationId, historyLoaded, t]);

  // Icebreakers for a fresh conversation (pushed as ai:icebreaker, or fetched once).
  const messageCount = conv?.messages.length ?? 0;
  const icebreaker = ai.icebreakers[conversationId];
  useEffect(() => {
    if (!aiOn || icebreaker !== undefined || !historyLoaded || messageCount > 2) return;
    let alive = true;
    call(() =>
      api.GET("/api/v1/conversations/{conversation_id}/ai/icebreaker", {
        params: { path: { conversation_id: conversationId } },
      }),
    )
      .then((res) => {
        if (!alive) return;
        app.ai.set((s) =>
          s.icebreakers[conversationId] ? s : { ...s, icebreakers: { ...s.icebreakers, [conversationId]: res.icebreaker } },
        );
      })
      .catch(() => {
        if (alive) app.ai.set((s) => ({ ...s, icebreakers: { ...s.icebreakers, [conversationId]: null } }));
      });
    return () => {
      alive = false;
    };
  }, [aiOn, icebreaker, historyLoaded, messageCount, conversationId, app.ai]);

  const rows = useMemo<Row[]>(() => {
    if (!conv) return [];
    const list: Row[] = conv.messages.map((m) => ({
      kind: "message",
      key: m.id,
      message: m,
      mine: m.sender_id === engine.me,
    }));
    for (const p of conv.pending) list.push({ kind: "pending", key: p.clientMsgId, pending: p });
    return list;
  }, [conv, engine.me]);

  const iSent = rows.some((r) => r.kind === "pending" || r.mine);

  const items = useMemo(
    () =>
      withDaySeparators(rows, (r) => new Date(r.kind === "message" ? r.message.created_at : r.pending.createdAt)),
    [rows],
  );

  // Keep the newest message in view when the reader is at the bottom (or just sent).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const grew = rows.length > lastCount.current;
    const lastRow = rows.at(-1);
    const mineLast = lastRow ? lastRow.kind === "pending" || lastRow.mine : false;
    if (lastCount.current === 0 || (grew && (nearBottom.current || mineLast))) {
      el.scrollTop = el.scrollHeight;
      setShowNewPill(false);
    } else if (grew) {
      setShowNewPill(true);
    }
    lastCount.current = rows.length;
  }, [rows]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && nearBottom.current) el.scrollTop = el.scrollHeight;
  }, [conv?.peerTyping, ai.suggestions[conversationId]]);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    nearBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (nearBottom.current) setShowNewPill(false);
  }, []);

  const scrollToEnd = () => {
    const el = scroller.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior: "smooth" });
    setShowNewPill(false);
  };

  async function loadOlder() {
    const before = engine.oldestSeq(conversationId);
    if (before === null) return;
    setLoadingHistory(true);
    const el = scroller.current;
    const fromBottom = el ? el.scrollHeight - el.scrollTop : 0;
    try {
      const page = await call(() =>
        api.GET("/api/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId }, query: { before, limit: 50 } },
        }),
      );
      engine.loadPage(conversationId, page, "older");
      requestAnimationFrame(() => {
        if (el) el.scrollTop = el.scrollHeight - fromBottom;
      });
    } catch (err) {
      toast(errorText(t, err), "error");
    } finally {
      setLoadingHistory(false);
    }
  }

  function fill(text: string) {
    setDraft(text);
    setFromSuggestion(text);
    engine.typing(conversationId, true);
    requestAnimationFrame(() => {
      const el = input.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(text.length, text.length);
    });
  }

  function send() {
    const body = draft.trim();
    if (!body || !conv || conv.closed) return;
    engine.send(conversationId, body, { aiSuggestion: fromSuggestion !== null });
    setDraft("");
    setFromSuggestion(null);
    app.ai.set((s) => {
      if (!s.suggestions[conversationId] && !s.coach[conversationId]) return s;
      const suggestions = { ...s.suggestions };
      const coach = { ...s.coach };
      delete suggestions[conversationId];
      delete coach[conversationId];
      return { ...s, suggestions, coach };
    });
    nearBottom.current = true;
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  }

  async function askAi() {
    if (helping) return;
    setHelping(true);
    try {
      let suggestions: Suggestions;
      try {
        const ack = (await app.realtime.call("ai:help", { conversation_id: conversationId })) as
          | { ok: true; suggestions: Suggestions }
          | { ok: false; error: { code: string; message: string } };
        if (!ack.ok) throw toApiError(ack);
        suggestions = ack.suggestions;
      } catch (err) {
        const e = toApiError(err);
        if (e.code !== "network") throw e;
        // Not connected: the same suggestions over REST.
        const res = await call(() =>
          api.POST("/api/v1/conversations/{conversation_id}/ai/suggestions", {
            params: { path: { conversation_id: conversationId } },
          }),
        );
        suggestions = { conversation_id: conversationId, ...res, topics: res.topics ?? [] };
      }
      app.ai.set((s) => ({ ...s, suggestions: { ...s.suggestions, [conversationId]: suggestions } }));
    } catch (err) {
      toast(errorText(t, err), "error");
    } finally {
      setHelping(false);
    }
  }

  const warnings = ai.warnings.filter(
    (w) => w.conversation_id === conversationId && !dismissedWarnings.includes(w.message_id),
  );
  const confirmPending = conv?.pending.find((p) => p.status === "confirm");
  const suggestions = ai.suggestions[conversationId];
  const coach = ai.coach[conversationId];

  if (!conv) {
    const missing = matchesLoaded && !match && snap.connection === "online" && !snap.syncing;
    return (
      <div className="chat chat-missing">
        {missing ? (
          <EmptyState
            icon="chat"
            title={t("chat.not_found")}
            action={
              <button type="button" className="button" onClick={() => navigate("/chats")}>
                {t("chat.back_to_chats")}
              </button>
            }
          />
        ) : (
          <Spinner label={t("common.loading")} />
        )}
      </div>
    );
  }

  const status = presenceText(conv, t, lang);
  const closedText = conv.closed ? t(closedKey(conv.closed)) : null;

  return (
    <div className="chat" data-testid="chat">
      <header className="chat-header">
        <button type="button" className="icon-button back" onClick={() => navigate("/chats")} aria-label={t("common.back")}>
          <Icon name="back" />
        </button>
        <button
          type="button"
          className="chat-peer"
          onClick={() => peer && setDialog({ kind: "profile" })}
          aria-label={t("chat.view_profile", { name: peerName })}
        >
          <Avatar
            name={peerName}
            id={peer?.id ?? conversationId}
            size={40}
            online={conv.peerOnline}
            onlineLabel={conv.peerOnline === null ? undefined : conv.peerOnline ? t("presence.online") : t("presence.offline")}
          />
          <span className="chat-peer-text">
            <span className="chat-peer-name">{peerName}</span>
            {status && (
              <span className={conv.peerTyping ? "chat-peer-status typing" : "chat-peer-status"} data-testid="peer-status">
                {status}
              </span>
            )}
          </span>
        </button>
        <div className="menu-wrap">
          <button
            type="button"
            className="icon-button"
            aria-label={t("chat.menu")}
            aria-haspopup="menu"
            aria-expanded={menuOpen}
            onClick={() => setMenuOpen(!menuOpen)}
          >
            <Icon name="more" />
          </button>
          {menuOpen && (
            <ChatMenu
              onClose={() => setMenuOpen(false)}
              items={[
                ...(peer ? [{ icon: "user" as const, label: t("chat.view_profile_short"), run: () => setDialog({ kind: "profile" }) }] : []),
                ...(match && !conv.closed ? [{ icon: "x" as const, label: t("chat.unmatch"), run: () => setDialog({ kind: "unmatch" }) }] : []),
                ...(peer ? [{ icon: "ban" as const, label: t("chat.block"), run: () => setDialog({ kind: "block" }), danger: true }] : []),
                ...(peer ? [{ icon: "flag" as const, label: t("chat.report"), run: () => setDialog({ kind: "report", messageIds: [], flags: [] }), danger: true }] : []),
              ]}
            />
          )}
        </div>
      </header>

      {warnings.map((w) => (
        <div key={w.message_id} className="safety-banner" role="alert" data-testid="safety-banner">
          <Icon name="shield" size={20} />
          <div className="safety-text">
            <strong>{t("safety.bother_title")}</strong>
            <span>
              {w.flags.includes("self_harm")
                ? t("safety.self_harm")
                : t("safety.bother_body", { reasons: w.flags.map((f) => flagText(t, f)).join(t("list.sep")) })}
            </span>
          </div>
          <div className="safety-actions">
            <button
              type="button"
              className="button small danger"
              onClick={() => setDialog({ kind: "report", messageIds: [w.message_id], flags: w.flags })}
            >
              {t("safety.report")}
            </button>
            <button type="button" className="button small" onClick={() => setDialog({ kind: "block" })}>
              {t("safety.block")}
            </button>
            <button
              type="button"
              className="button small ghost"
              onClick={() => setDismissedWarnings((d) => [...d, w.message_id])}
            >
              {t("safety.fine")}
            </button>
          </div>
        </div>
      ))}

      <div className="messages" ref={scroller} onScroll={onScroll} aria-live="polite" aria-relevant="additions" data-testid="messages">
        {conv.hasOlder && (
          <div className="load-older">
            <button type="button" className="button small ghost" onClick={() => void loadOlder()} disabled={loadingHistory}>
              {loadingHistory ? <Spinner size={14} /> : t("chat.load_older")}
            </button>
          </div>
        )}
        {!conv.historyLoaded && loadingHistory && <Spinner label={t("common.loading")} />}
        {historyError && <p className="form-error center">{historyError}</p>}

        {conv.historyLoaded && rows.length === 0 && (
          <div className="chat-intro">
            <Avatar name={peerName} id={peer?.id ?? conversationId} size={72} />
            <h2>{t("chat.matched_with", { name: peerName })}</h2>
            <p>{t("chat.intro")}</p>
          </div>
        )}

        {aiOn && icebreaker && !iceDismissed && !iSent && rows.length <= 2 && !conv.closed && (
          <IcebreakerCard icebreaker={icebreaker} onPick={fill} onDismiss={() => setIceDismissed(true)} />
        )}

        {items.map((item, index) =>
          item.kind === "day" ? (
            <div key={`day-${item.key}`} className="day-separator" role="separator">
              <span>{dayLabel(item.date, new Date(), lang, { today: t("day.today"), yesterday: t("day.yesterday") })}</span>
            </div>
          ) : item.item.kind === "message" && item.item.message.sender_id === null ? (
            <ServiceMessage key={item.item.key} message={item.item.message} lang={lang} />
          ) : item.item.kind === "message" ? (
            <Bubble
              key={item.item.key}
              message={item.item.message}
              mine={item.item.mine}
              groupStart={startsGroup(items, index)}
              state={item.item.mine ? deliveryOf(conv, item.item.message) : null}
              lastMine={isLastMine(rows, item.item.key)}
              lang={lang}
            />
          ) : (
            <PendingBubble
              key={item.item.key}
              pending={item.item.pending}
              groupStart={startsGroup(items, index)}
              lang={lang}
              onRetry={() => engine.retry(item.item.kind === "pending" ? item.item.pending.clientMsgId : "")}
              onDiscard={() => engine.discard(item.item.kind === "pending" ? item.item.pending.clientMsgId : "")}
            />
          ),
        )}

        {conv.peerTyping && (
          <div className="bubble-row theirs" data-testid="typing-indicator">
            <div className="bubble typing-bubble" aria-label={t("chat.typing", { name: peerName })}>
              <span className="dot" />
              <span className="dot" />
              <span className="dot" />
            </div>
          </div>
        )}
      </div>

      {showNewPill && (
        <button type="button" className="new-pill" onClick={scrollToEnd}>
          <Icon name="arrowDown" size={16} /> {t("chat.new_messages")}
        </button>
      )}

      {closedText ? (
        <div className="chat-closed" role="status">
          <Icon name="info" size={18} />
          <span>{closedText}</span>
        </div>
      ) : (
        <div className="composer-wrap">
          {coach && !suggestions && (
            <div className="coach" data-testid="coach">
              <div className="coach-head">
                <Icon name="lightbulb" size={16} />
                <span>{coach.reason === "stalled" ? t("ai.coach_stalled") : t("ai.coach_mood")}</span>
                <button
                  type="button"
                  className="icon-button small"
                  aria-label={t("common.close")}
                  onClick={() =>
                    app.ai.set((s) => {
                      const next = { ...s.coach };
                      delete next[conversationId];
                      return { ...s, coach: next };
                    })
                  }
                >
                  <Icon name="x" size={14} />
                </button>
              </div>
              <SuggestionChips replies={coach.replies} topics={coach.topics} onPick={fill} />
            </div>
          )}
          {suggestions && (
            <div className="suggestions" data-testid="ai-suggestions">
              <div className="coach-head">
                <Icon name="sparkles" size={16} />
                <span>{t("ai.suggestions_title")}</span>
                <button
                  type="button"
                  className="icon-button small"
                  aria-label={t("ai.hide_suggestions")}
                  onClick={() =>
                    app.ai.set((s) => {
                      const next = { ...s.suggestions };
                      delete next[conversationId];
                      return { ...s, suggestions: next };
                    })
                  }
                >
                  <Icon name="x" size={14} />
                </button>
              </div>
              <SuggestionChips replies={suggestions.replies} topics={suggestions.topics} onPick={fill} />
            </div>
          )}
          <form
            className="composer"
            onSubmit={(e) => {
              e.preventDefault();
              send();
            }}
          >
            {aiOn && (
              <button
                type="button"
                className={helping ? "ai-button busy" : "ai-button"}
                onClick={() => void askAi()}
                disabled={helping}
                aria-label={t("ai.assist_label")}
                title={t("ai.assist_label")}
              >
                {helping ? <Spinner size={16} /> : <Icon name="sparkles" size={18} />}
                <span className="ai-button-text">{t("ai.assist")}</span>
              </button>
            )}
            <label className="sr-only" htmlFor={`composer-${conversationId}`}>
              {t("chat.message_label", { name: peerName })}
            </label>
            <textarea
              id={`composer-${conversationId}`}
              ref={input}
              className="composer-input"
              rows={1}
              maxLength={4000}
              placeholder={t("chat.placeholder")}
              value={draft}
              onChange={(e) => {
                setDraft(e.target.value);
                if (fromSuggestion !== null && e.target.value.trim() === "") setFromSuggestion(null);
                engine.typing(conversationId, e.target.value.trim().length > 0);
              }}
              onBlur={() => engine.stopTyping(conversationId)}
              onKeyDown={onKeyDown}
            />
            <button type="submit" className="send-button" disabled={!draft.trim()} aria-label={t("chat.send")}>
              <Icon name="send" size={20} />
            </button>
          </form>
        </div>
      )}

      {confirmPending && (
        <ConfirmSendDialog
          pending={confirmPending}
          onSend={() => engine.confirm(confirmPending.clientMsgId)}
          onEdit={() => {
            const p = engine.discard(confirmPending.clientMsgId);
            if (p) {
              setDraft(p.body);
              setFromSuggestion(p.aiSuggestion ? p.body : null);
            }
          }}
        />
      )}
      {dialog.kind === "profile" && peer && <ProfileDialog profile={peer} onClose={() => setDialog({ kind: "none" })} />}
      {dialog.kind === "report" && peer && (
        <ReportDialog
          peer={{ id: peer.id, name: peerName }}
          messageIds={dialog.messageIds}
          initialReason={reasonForFlags(dialog.flags)}
          onClose={() => setDialog({ kind: "none" })}
          onDone={(blocked) => {
            setDialog({ kind: "none" });
            setDismissedWarnings((d) => [...d, ...dialog.messageIds]);
            if (blocked) navigate("/chats");
          }}
        />
      )}
      {dialog.kind === "block" && peer && (
        <ConfirmActionDialog
          title={t("block.title", { name: peerName })}
          body={t("block.body", { name: peerName })}
          confirmLabel={t("chat.block")}
          onClose={() => setDialog({ kind: "none" })}
          onConfirm={async () => {
            await call(() => api.POST("/api/v1/users/{user_id}/block", { params: { path: { user_id: peer.id } } }));
            toast(t("block.done", { name: peerName }), "success");
            setDialog({ kind: "none" });
            navigate("/chats");
          }}
        />
      )}
      {dialog.kind === "unmatch" && match && (
        <ConfirmActionDialog
          title={t("unmatch.title", { name: peerName })}
          body={t("unmatch.body", { name: peerName })}
          confirmLabel={t("chat.unmatch")}
          onClose={() => setDialog({ kind: "none" })}
          onConfirm={async () => {
            await call(() => api.DELETE("/api/v1/matches/{match_id}", { params: { path: { match_id: match.id } } }));
            toast(t("unmatch.done", { name: peerName }), "success");
            setDialog({ kind: "none" });
            navigate("/chats");
          }}
        />
      )}
    </div>
  );
}

/** A bubble starts a group when the previous row is a day marker or from the other person. */
function startsGroup(items: readonly DayItem<Row>[], index: number): boolean {
  const prev = items[index - 1];
  const cur = items[index];
  if (!prev || prev.kind === "day" || !cur || cur.kind === "day") return true;
  return isMineRow(prev.item) !== isMineRow(cur.item);
}

function isMineRow(r: Row): boolean | null {
  if (r.kind === "pending") return true;
  return r.message.sender_id === null ? null : r.mine;
}

function isLastMine(rows: readonly Row[], key: string): boolean {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (r && r.kind === "message" && r.mine) return r.key === key;
  }
  return false;
}

function closedKey(reason: string): MessageKey {
  if (reason === "blocked") return "chat.closed_blocked";
  if (reason === "account_deleted") return "chat.closed_deleted";
  return "chat.closed_unmatched";
}

function presenceText(conv: ConversationState, t: (k: MessageKey, v?: Record<string, string | number>) => string, lang: string): string {
  if (conv.peerTyping) return t("chat.typing_short");
  if (conv.peerOnline) return t("presence.online");
  if (conv.peerLastSeenAt) return t("presence.last_seen", { when: relativeTime(new Date(conv.peerLastSeenAt), new Date(), lang) });
  return "";
}

function Bubble({
  message,
  mine,
  groupStart,
  state,
  lastMine,
  lang,
}: {
  message: Message;
  mine: boolean;
  groupStart: boolean;
  state: DeliveryState | null;
  lastMine: boolean;
  lang: string;
}) {
  const { t } = useI18n();
  const time = timeLabel(new Date(message.created_at), lang);
  return (
    <div
      className={`bubble-row ${mine ? "mine" : "theirs"}${groupStart ? " group-start" : ""}`}
      data-testid="message"
      data-seq={message.seq}
    >
      <div className="bubble">
        <p className="bubble-text">{message.body}</p>
        <span className="bubble-meta">
          {message.ai_assisted && (
            <span className="ai-label" data-testid="ai-label">
              <Icon name="sparkles" size={12} /> {t("ai.assisted")}
            </span>
          )}
          <time dateTime={message.created_at}>{time}</time>
          {state && (
            <span className={`status status-${state}`} data-testid="message-status" data-status={state} title={t(`status.${state}`)}>
              <Icon name={STATUS_ICON[state]} size={14} />
              <span className="sr-only">{t(`status.${state}`)}</span>
            </span>
          )}
        </span>
      </div>
      {mine && lastMine && state && (state === "read" || state === "delivered") && (
        <span className="receipt-text" data-testid="receipt-text">
          {t(`status.${state}`)}
        </span>
      )}
    </div>
  );
}

/** A message from the service itself (sender_id null): a notice, or the assistant speaking. */
function ServiceMessage({ message, lang }: { message: Message; lang: string }) {
  const { t } = useI18n();
  if (message.kind === "system") {
    return (
      <div className="system-note" data-testid="system-message" data-seq={message.seq}>
        <Icon name="info" size={14} />
        <span>{message.body}</span>
      </div>
    );
  }
  return (
    <div className="bubble-row theirs bot group-start" data-testid="bot-message" data-seq={message.seq}>
      <span className="bot-name">
        <Icon name="sparkles" size={12} /> {t("chat.bot")}
      </span>
      <div className="bubble">
        <p className="bubble-text">{message.body}</p>
        <span className="bubble-meta">
          <time dateTime={message.created_at}>{timeLabel(new Date(message.created_at), lang)}</time>
        </span>
      </div>
    </div>
  );
}

function PendingBubble({
  pending,
  groupStart,
  lang,
  onRetry,
  onDiscard,
}: {
  pending: PendingMessage;
  groupStart: boolean;
  lang: string;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  const { t } = useI18n();
  const state: DeliveryState = pending.status;
  return (
    <div
      className={`bubble-row mine pending ${pending.status}${groupStart ? " group-start" : ""}`}
      data-testid="message"
      data-pending="true"
    >
      <div className="bubble">
        <p className="bubble-text">{pending.body}</p>
        <span className="bubble-meta">
          <time dateTime={pending.createdAt}>{timeLabel(new Date(pending.createdAt), lang)}</time>
          <span className={`status status-${state}`} data-testid="message-status" data-status={state} title={t(`status.${state}`)}>
            <Icon name={STATUS_ICON[state]} size={14} />
            <span className="sr-only">{t(`status.${state}`)}</span>
          </span>
        </span>
      </div>
      {pending.status === "failed" && (
        <div className="failed-actions" role="alert">
          <span>{pending.error ? errorText(t, { error: pending.error }) : t("status.failed")}</span>
          <button type="button" className="link-button" onClick={onRetry}>
            {t("chat.retry")}
          </button>
          <button type="button" className="link-button muted" onClick={onDiscard}>
            {t("chat.discard")}
          </button>
        </div>
      )}
    </div>
  );
}

function IcebreakerCard({
  icebreaker,
  onPick,
  onDismiss,
}: {
  icebreaker: Icebreaker;
  onPick: (text: string) => void;
  onDismiss: () => void;
}) {
  const { t } = useI18n();
  return (
    <section className="icebreaker" data-testid="icebreaker" aria-label={t("ai.icebreaker_title")}>
      <div className="coach-head">
        <Icon name="sparkles" size={16} />
        <span>{t("ai.icebreaker_title")}</span>
        <button type="button" className="icon-button small" aria-label={t("common.close")} onClick={onDismiss}>
          <Icon name="x" size={14} />
        </button>
      </div>
      {icebreaker.shared_interests && icebreaker.shared_interests.length > 0 && (
        <p className="icebreaker-shared">{t("ai.icebreaker_shared", { list: icebreaker.shared_interests.join(t("list.sep")) })}</p>
      )}
      <div className="suggestion-list">
        {icebreaker.opening_lines.map((line) => (
          <button key={line} type="button" className="suggestion" onClick={() => onPick(line)}>
            {line}
          </button>
        ))}
        {(icebreaker.conversation_starters ?? []).slice(0, 2).map((s) => (
          <button key={s.question} type="button" className="suggestion" onClick={() => onPick(s.question)}>
            {s.question}
          </button>
        ))}
      </div>
    </section>
  );
}

function SuggestionChips({ replies, topics, onPick }: { replies: Reply[]; topics: string[]; onPick: (text: string) => void }) {
  const { t } = useI18n();
  return (
    <>
      <div className="suggestion-list" role="list">
        {replies.map((r) => (
          <button key={r.tone + r.text} type="button" role="listitem" className="suggestion" onClick={() => onPick(r.text)} data-testid="suggestion-chip">
            <span className={`tone tone-${r.tone}`}>{t(`tone.${r.tone}`)}</span>
            <span>{r.text}</span>
          </button>
        ))}
      </div>
      {topics.length > 0 && (
        <p className="topics">
          {t("ai.topics")} {topics.join(t("list.sep"))}
        </p>
      )}
    </>
  );
}

function ChatMenu({
  items,
  onClose,
}: {
  items: { icon: IconName; label: string; run: () => void; danger?: boolean }[];
  onClose: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>("button")?.focus();
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") onClose();
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const buttons = Array.from(ref.current?.querySelectorAll<HTMLElement>("button") ?? []);
        const i = buttons.indexOf(document.activeElement as HTMLElement);
        const next = e.key === "ArrowDown" ? (i + 1) % buttons.length : (i - 1 + buttons.length) % buttons.length;
        buttons[next]?.focus();
      }
    };
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [onClose]);
  return (
    <div className="menu" role="menu" ref={ref}>
      {items.map((item) => (
        <button
          key={item.label}
          type="button"
          role="menuitem"
          className={item.danger ? "menu-item danger" : "menu-item"}
          onClick={() => {
            onClose();
            item.run();
          }}
        >
          <Icon name={item.icon} size={18} />
          {item.label}
        </button>
      ))}
    </div>
  );
}
