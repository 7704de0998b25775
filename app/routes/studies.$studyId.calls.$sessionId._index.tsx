/**
 * One past call: who took part and how (the per-person table, its CSV), the talk balance, the
 * timeline (laid out here on the server, drawn as SVG) and the chat transcript.
 */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { CallTimeline } from "~/components/history/call-timeline";
import { formatCallDate, formatDuration, TABLE_HEADER, tableRows, talkBalance } from "~/utils/call-table";
import { buildLanes, layoutTimeline } from "~/utils/call-timeline";
import { loadCallRecord } from "~/utils/call-history.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Call of ${data ? formatCallDate(data.session.startedAt) : ""} · ${data?.study.name ?? "Study"} · CoUp` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { study, record } = await loadCallRecord(request, context, params);
  const lanes = buildLanes(
    record.people.map((p) => ({ userId: p.userId, name: p.name })),
    record.events,
    record.session.startedAt,
    record.session.endedAt,
  );
  return json({
    study,
    session: record.session,
    rows: tableRows(record.people),
    balance: talkBalance(record.people),
    layout: layoutTimeline(lanes, record.session.duration),
    messages: record.messages,
    truncated: record.truncated,
  });
}

export default function PastCallPage() {
  const { study, session, rows, balance, layout, messages, truncated } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <p>
        <Link to={`/studies/${study.id}`}>← {study.name}</Link> ·{" "}
        <Link to={`/studies/${study.id}/calls`}>Past calls</Link>
      </p>
      <h1>Call of {formatCallDate(session.startedAt)}</h1>
      <p className="muted">
        {formatDuration(session.duration)} · started by {session.startedByName}
      </p>
      <section className="card" aria-labelledby="people-heading">
        <h2 id="people-heading">Who took part</h2>
        {balance ? <p data-testid="talk-balance">Talk balance: {balance}</p> : null}
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Who took part, per person">
          <table className="data-table" aria-labelledby="people-heading" data-testid="people-table">
            <thead>
              <tr>
                {TABLE_HEADER.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  {r.map((cell, j) =>
                    j === 0 ? (
                      <th key={j} scope="row">
                        {cell}
                      </th>
                    ) : (
                      <td key={j}>{cell}</td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p>
          <a href={`/studies/${study.id}/calls/${session.id}/csv`} download>
            Download CSV
          </a>
        </p>
      </section>
      <section className="card" aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        {truncated ? <p className="muted">This call is long: only its first events are shown.</p> : null}
        <CallTimeline layout={layout} />
      </section>
      <section className="card" aria-labelledby="chat-heading">
        <h2 id="chat-heading">Chat</h2>
        {messages.length === 0 ? (
          <p className="muted">No messages in this call.</p>
        ) : (
          <ol className="transcript" aria-label="Chat transcript">
            {messages.map((m) => (
              <li key={m.id}>
                <span className="muted">{m.createdAt.slice(11, 19)}</span> <strong>{m.authorName}</strong>:{" "}
                {m.file ? (
                  <a href={`/api/files/${m.file.id}`} download={m.file.name}>
                    {m.file.name}
                  </a>
                ) : (
                  m.body
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
