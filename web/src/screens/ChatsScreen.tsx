import { useMemo, useSyncExternalStore } from "react";

import type { ConversationState } from "../chat/engine";
import { shortStamp } from "../chat/days";
import { useI18n } from "../i18n";
import { useStore } from "../lib/store";
import { navigate } from "../router";
import { useApp, type MatchOut } from "../state/app";
import { Icon } from "../ui/Icon";
import { Avatar, EmptyState, Spinner } from "../ui/primitives";
import { ChatView } from "./ChatView";

export function ChatsScreen({ conversationId }: { conversationId: string | null }) {
  const { t } = useI18n();
  return (
    <div className={conversationId ? "screen chats has-active" : "screen chats"}>
      <section className="chat-list-pane" aria-label={t("nav.chats")}>
        <header className="screen-header">
          <h1>{t("nav.chats")}</h1>
        </header>
        <ConversationList activeId={conversationId} />
      </section>
      <section className="chat-pane">
        {conversationId ? (
          <ChatView key={conversationId} conversationId={conversationId} />
        ) : (
          <div className="chat-placeholder">
            <EmptyState icon="chat" title={t("chats.pick_title")} body={t("chats.pick_body")} />
          </div>
        )}
      </section>
    </div>
  );
}

function sortKey(c: ConversationState): string {
  return c.lastMessage?.created_at ?? c.createdAt;
}

function ConversationList({ activeId }: { activeId: string | null }) {
  const { t, lang } = useI18n();
  const app = useApp();
  const snap = useSyncExternalStore(app.engine.subscribe, app.engine.getSnapshot);
  const matches = useStore(app.matches);
  const loaded = useStore(app.matchesLoaded);
  const now = new Date();

  const { fresh, talking } = useMemo(() => {
    const live = Object.values(snap.conversations).filter((c) => !c.closed && matches[c.id]);
    live.sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
    return {
      fresh: live.filter((c) => !c.lastMessage && c.pending.length === 0 && c.messages.length === 0),
      talking: live.filter((c) => c.lastMessage || c.pending.length > 0 || c.messages.length > 0),
    };
  }, [snap.conversations, matches]);

  if (!loaded) return <Spinner label={t("common.loading")} />;
  if (fresh.length === 0 && talking.length === 0) {
    return (
      <EmptyState
        icon="heart"
        title={t("chats.empty_title")}
        body={t("chats.empty_body")}
        action={
          <button type="button" className="button primary" onClick={() => navigate("/discover")}>
            {t("chats.go_discover")}
          </button>
        }
      />
    );
  }
  return (
    <div className="chat-list">
      {fresh.length > 0 && (
        <div className="new-matches">
          <h2 className="list-heading">{t("chats.new_matches")}</h2>
          <ul className="new-match-strip">
            {fresh.map((c) => {
              const m = matches[c.id] as MatchOut;
              return (
                <li key={c.id}>
                  <a
                    href={`/chats/${c.id}`}
                    className={c.id === activeId ? "new-match active" : "new-match"}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/chats/${c.id}`);
                    }}
                  >
                    <Avatar name={m.peer.display_name} id={m.peer.id} size={60} online={c.peerOnline} />
                    <span className="new-match-name">{m.peer.display_name}</span>
                  </a>
                </li>
              );
            })}
          </ul>
        </div>
      )}
      {talking.length > 0 && (
        <>
          <h2 className="list-heading">{t("chats.messages")}</h2>
          <ul className="conversations">
            {talking.map((c) => {
              const m = matches[c.id] as MatchOut;
              const last = c.lastMessage;
              const pending = c.pending.at(-1);
              const mine = pending ? true : last?.sender_id === app.engine.me;
              const text = pending?.body ?? last?.body ?? "";
              const when = pending ? new Date(pending.createdAt) : last ? new Date(last.created_at) : null;
              const presence =
                c.peerOnline === null ? undefined : c.peerOnline ? t("presence.online") : t("presence.offline");
              return (
                <li key={c.id}>
                  <a
                    href={`/chats/${c.id}`}
                    className={c.id === activeId ? "conversation active" : "conversation"}
                    aria-current={c.id === activeId ? "page" : undefined}
                    data-testid="conversation-row"
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/chats/${c.id}`);
                    }}
                  >
                    <Avatar name={m.peer.display_name} id={m.peer.id} size={52} online={c.peerOnline} onlineLabel={presence} />
                    <span className="conversation-main">
                      <span className="conversation-top">
                        <span className="conversation-name">{m.peer.display_name}</span>
                        {when && <time className="conversation-time">{shortStamp(when, now, lang, t("day.yesterday"))}</time>}
                      </span>
                      <span className="conversation-bottom">
                        {c.peerTyping ? (
                          <span className="conversation-preview typing">{t("chat.typing_short")}</span>
                        ) : (
                          <span className={c.unread > 0 ? "conversation-preview unread" : "conversation-preview"}>
                            {mine && <span className="preview-you">{t("chats.you")}</span>}
                            {text}
                          </span>
                        )}
                        {c.unread > 0 && (
                          <span className="badge" aria-label={t("chats.unread", { n: c.unread })} data-testid="unread-badge">
                            {c.unread > 99 ? "99+" : c.unread}
                          </span>
                        )}
                        {pending?.status === "failed" && <Icon name="alert" size={16} className="failed-icon" />}
                      </span>
                    </span>
                  </a>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </div>
  );
}
