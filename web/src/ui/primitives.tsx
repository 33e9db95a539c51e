// Small shared pieces: avatar with initials, switch, spinner, empty state, dialog.
import { useEffect, useId, useRef, type ReactNode } from "react";

import { Icon, type IconName } from "./Icon";

const AVATAR_HUES = [350, 12, 32, 160, 190, 215, 262, 290, 330];

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}

/** Up to two initials: first letters of the first two words, or the first CJK character. */
export function initials(name: string): string {
  const clean = name.trim();
  if (!clean) return "?";
  const first = Array.from(clean)[0] ?? "?";
  if (/[\u3400-\u9fff\uac00-\ud7af\u3040-\u30ff]/.test(first)) return first;
  const words = clean.split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] ?? "");
  return letters.join("").toUpperCase();
}

export function Avatar({
  name,
  id,
  size = 44,
  online,
  onlineLabel,
}: {
  name: string;
  id: string;
  size?: number;
  online?: boolean | null;
  onlineLabel?: string;
}) {
  const hue = AVATAR_HUES[hash(id) % AVATAR_HUES.length] ?? 350;
  return (
    <span
      className="avatar"
      style={{
        width: size,
        height: size,
        fontSize: Math.round(size * 0.4),
        background: `linear-gradient(135deg, hsl(${hue} 85% 66%), hsl(${(hue + 28) % 360} 80% 56%))`,
      }}
      aria-hidden={onlineLabel ? undefined : true}
    >
      {initials(name)}
      {online !== undefined && online !== null && (
        <span
          className={online ? "presence presence-on" : "presence presence-off"}
          role={onlineLabel ? "img" : undefined}
          aria-label={onlineLabel}
          data-testid="presence-dot"
        />
      )}
    </span>
  );
}

export function Switch({
  checked,
  onChange,
  label,
  description,
  disabled,
}: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  description?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="switch-row">
      <div className="switch-text">
        <span id={`${id}-label`} className="switch-label">
          {label}
        </span>
        {description && (
          <span id={`${id}-desc`} className="switch-desc">
            {description}
          </span>
        )}
      </div>
      <button
        type="button"
        role="switch"
        aria-checked={checked}
        aria-labelledby={`${id}-label`}
        aria-describedby={description ? `${id}-desc` : undefined}
        className="switch"
        disabled={disabled}
        onClick={() => onChange(!checked)}
      >
        <span className="switch-thumb" />
      </button>
    </div>
  );
}

export function Spinner({ label, size = 22 }: { label?: string; size?: number }) {
  return (
    <span className="spinner-wrap" role={label ? "status" : undefined}>
      <span className="spinner" style={{ width: size, height: size }} aria-hidden="true" />
      {label && <span className="sr-only">{label}</span>}
    </span>
  );
}

export function EmptyState({
  icon,
  title,
  body,
  action,
}: {
  icon: IconName;
  title: string;
  body?: string;
  action?: ReactNode;
}) {
  return (
    <div className="empty">
      <div className="empty-icon">
        <Icon name={icon} size={30} />
      </div>
      <h2 className="empty-title">{title}</h2>
      {body && <p className="empty-body">{body}</p>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

const FOCUSABLE =
  'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: labelled, focus kept inside, Escape closes, focus returns on close. */
export function Dialog({
  title,
  onClose,
  children,
  footer,
  icon,
  tone = "default",
  testId,
}: {
  title: string;
  onClose: () => void;
  children?: ReactNode;
  footer?: ReactNode;
  icon?: IconName;
  tone?: "default" | "danger" | "warning" | "celebrate";
  testId?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const node = ref.current;
    const first = node?.querySelector<HTMLElement>("[data-autofocus]") ?? node?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        closeRef.current();
      } else if (e.key === "Tab" && node) {
        const items = Array.from(node.querySelectorAll<HTMLElement>(FOCUSABLE));
        if (items.length === 0) return;
        const firstItem = items[0];
        const lastItem = items[items.length - 1];
        if (e.shiftKey && document.activeElement === firstItem) {
          e.preventDefault();
          lastItem?.focus();
        } else if (!e.shiftKey && document.activeElement === lastItem) {
          e.preventDefault();
          firstItem?.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      previous?.focus?.();
    };
  }, []);
  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        className={`dialog dialog-${tone}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={testId}
      >
        {icon && (
          <div className="dialog-icon">
            <Icon name={icon} size={26} />
          </div>
        )}
        <h2 id={titleId} className="dialog-title">
          {title}
        </h2>
        <div className="dialog-body">{children}</div>
        {footer && <div className="dialog-footer">{footer}</div>}
      </div>
    </div>
  );
}
