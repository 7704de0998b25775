/**
 * The call chat's panel, shown in the side panel's Chat tab: message log, read receipts, typing
 * line, composer, file sharing. A view over the chat machine: state
 * and effects live in machines/chat.machine.ts; this file only renders and forwards events.
 */
import { shallowEqual, useSelector } from "@xstate/react";
import {
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
} from "react";
import type { ChatMessage } from "../../../../machines/chat-protocol";
import { formatBytes, groupByAuthor, linkify, seenBy, typingLine } from "../../../../machines/chat.view";
import type { ChatActor } from "./use-call-chat";
import { say } from "../messages";

const THUMBNAIL_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export function ChatPanel({ chat, people }: { chat: ChatActor; people: Record<string, string> }) {
  const view = useSelector(
    chat,
    (s) => ({
      open: s.context.open,
      messages: s.context.messages,
      outbox: s.context.outbox,
      reads: s.context.reads,
      typing: s.context.typing,
      upload: s.context.upload,
      notice: s.context.notice,
      selfId: s.context.selfId,
      loading: s.matches({ history: "loading" }) && s.context.messages.length === 0,
    }),
    shallowEqual,
  );
  const log = useRef<HTMLDivElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [draft, setDraft] = useState("");
  const [pinned, setPinned] = useState(true);
  const [dragging, setDragging] = useState(false);
  const names: Record<string, string> = { ...people };
  for (const m of view.messages) names[m.authorId] ??= m.authorName;

  // Pinned to the bottom unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = log.current;
    if (el && pinned) el.scrollTop = el.scrollHeight;
  }, [view.messages, view.outbox, pinned, view.open]);

  // A message counts as seen only while it is on screen in the open panel (the machine also
  // requires the tab to be visible).
  useEffect(() => {
    const el = log.current;
    if (!el || !view.open) return;
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          const target = entry.target as HTMLElement;
          chat.send({ type: "SEEN", messageId: target.dataset.id!, seq: Number(target.dataset.seq) });
        }
      },
      { root: el, threshold: 0.5 },
    );
    el.querySelectorAll("[data-seq]").forEach((m) => observer.observe(m));
    return () => observer.disconnect();
  }, [chat, view.open, view.messages]);

  if (!view.open) return null;

  const submit = () => {
    if (!draft.trim()) return;
    chat.send({ type: "SEND", body: draft });
    setDraft("");
    setPinned(true);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };
  const attach = (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (file) chat.send({ type: "ATTACH", file });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    attach(e.dataTransfer.files);
  };
  const onPaste = (e: ClipboardEvent) => {
    if (e.clipboardData.files.length > 0) {
      e.preventDefault();
      attach(e.clipboardData.files);
    }
  };
  const typing = typingLine(view.typing);

  return (
    <section
      id="call-chat"
      className={dragging ? "chat-panel is-dragging" : "chat-panel"}
      aria-label="Chat"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <div
        ref={log}
        className="chat-log"
        role="log"
        aria-label="Messages"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          setPinned(el.scrollHeight - el.scrollTop - el.clientHeight < 40);
        }}
      >
        {view.loading ? <p className="muted">{say("chatLoading")}</p> : null}
        {!view.loading && view.messages.length === 0 && view.outbox.length === 0 ? (
          <p className="muted">{say("chatEmpty")}</p>
        ) : null}
        {groupByAuthor(view.messages).map((group) => (
          <div className="chat-group" key={group[0]!.id}>
            <p className="chat-author">
              <strong>{group[0]!.authorId === view.selfId ? "You" : group[0]!.authorName}</strong>{" "}
              <time dateTime={group[0]!.createdAt}>{formatTime(group[0]!.createdAt)}</time>
            </p>
            {group.map((m) => (
              <MessageItem key={m.id} message={m} seenBy={seenBy(view, m, names)} />
            ))}
          </div>
        ))}
        {view.outbox.map((o) => (
          <div className="chat-message is-pending" key={o.clientId}>
            <p className="chat-body">{o.body}</p>
            {o.status === "sending" ? (
              <p className="chat-meta">{say("chatSending")}</p>
            ) : (
              <p className="chat-meta chat-failed">
                {say("chatNotSent")}{" "}
                <button
                  type="button"
                  className="link-button"
                  onClick={() => chat.send({ type: "RETRY", clientId: o.clientId })}
                >
                  Retry
                </button>
              </p>
            )}
          </div>
        ))}
      </div>
      {!pinned ? (
        <button type="button" className="chat-jump" onClick={() => setPinned(true)}>
          New messages
        </button>
      ) : null}
      <p className="chat-typing" role="status">
        {typing ?? ""}
      </p>
      {view.notice ? (
        <p className="chat-notice" role="alert">
          {view.notice}{" "}
          <button type="button" className="link-button" onClick={() => chat.send({ type: "DISMISS_NOTICE" })}>
            Dismiss
          </button>
        </p>
      ) : null}
      {view.upload ? (
        <div className="chat-upload">
          <label>
            {say("chatUploading", { file: view.upload.file.name })}
            <progress max={view.upload.file.size} value={view.upload.loaded} />
          </label>
          <button type="button" className="secondary" onClick={() => chat.send({ type: "CANCEL_UPLOAD" })}>
            Cancel
          </button>
        </div>
      ) : null}
      <form
        className="chat-composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <textarea
          aria-label="Message"
          rows={2}
          value={draft}
          maxLength={2000}
          onChange={(e) => {
            setDraft(e.target.value);
            chat.send({ type: "KEYSTROKE" });
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        <div className="chat-actions">
          <input
            ref={fileInput}
            type="file"
            hidden
            aria-label="File to share"
            onChange={(e) => {
              attach(e.target.files);
              e.target.value = "";
            }}
          />
          <button type="button" className="secondary" onClick={() => fileInput.current?.click()}>
            Attach file
          </button>
          <button type="submit">Send</button>
        </div>
      </form>
    </section>
  );
}

function MessageItem({ message, seenBy: readers }: { message: ChatMessage; seenBy: string[] }) {
  const file = message.file;
  return (
    <div className="chat-message" data-id={message.id} data-seq={message.seq}>
      {file ? (
        <div className="chat-file">
          {THUMBNAIL_TYPES.has(file.type) ? (
            <img src={`/api/files/${file.id}?inline=1`} alt="" className="chat-thumb" loading="lazy" />
          ) : null}
          <span>
            {file.name} <span className="muted">({formatBytes(file.size)})</span>
          </span>{" "}
          <a href={`/api/files/${file.id}`} download={file.name}>
            Download
          </a>
        </div>
      ) : (
        <p className="chat-body">
          {linkify(message.body).map((part, i) =>
            part.href ? (
              <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">
                {part.text}
              </a>
            ) : (
              <span key={i}>{part.text}</span>
            ),
          )}
        </p>
      )}
      {readers.length > 0 ? <p className="chat-meta">{say("chatSeenBy", { names: readers.join(", ") })}</p> : null}
    </div>
  );
}

function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
