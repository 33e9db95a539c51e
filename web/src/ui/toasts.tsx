// Transient messages at the top of the screen (announced politely to screen readers).
import { createStore, useStore } from "../lib/store";
import { Icon, type IconName } from "./Icon";

export interface Toast {
  id: number;
  text: string;
  tone: "info" | "success" | "error";
  icon?: IconName;
  action?: { label: string; run: () => void };
}

const toasts = createStore<Toast[]>([]);
let nextId = 1;

export function toast(
  text: string,
  tone: Toast["tone"] = "info",
  options: { icon?: IconName; action?: Toast["action"]; ms?: number } = {},
): void {
  const id = nextId++;
  const entry: Toast = { id, text, tone, icon: options.icon, action: options.action };
  toasts.set((list) => [...list.slice(-2), entry]);
  setTimeout(() => dismiss(id), options.ms ?? (tone === "error" ? 6000 : 4000));
}

function dismiss(id: number): void {
  toasts.set((list) => list.filter((t) => t.id !== id));
}

export function Toasts({ closeLabel }: { closeLabel: string }) {
  const list = useStore(toasts);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} className={`toast toast-${t.tone}`}>
          <Icon name={t.icon ?? (t.tone === "error" ? "alert" : t.tone === "success" ? "check" : "info")} size={18} />
          <span className="toast-text">{t.text}</span>
          {t.action && (
            <button
              type="button"
              className="toast-action"
              onClick={() => {
                t.action?.run();
                dismiss(t.id);
              }}
            >
              {t.action.label}
            </button>
          )}
          <button type="button" className="toast-close" aria-label={closeLabel} onClick={() => dismiss(t.id)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}
