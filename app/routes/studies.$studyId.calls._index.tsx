/** A study's past calls, newest first, a page at a time: when, how long, who took part. */
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { formatCallDate, formatDuration } from "~/utils/call-table";
import { loadCallList } from "~/utils/call-history.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Past calls · ${data?.study.name ?? "Study"} · CoUp` },
];

const PAGE_SIZE = 20;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return json(await loadCallList(request, context, params.studyId, PAGE_SIZE));
}

export default function PastCallsPage() {
  const { study, history, firstPage } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <p>
        <Link to={`/studies/${study.id}`}>← {study.name}</Link>
      </p>
      <h1>Past calls</h1>
      {history.sessions.length === 0 ? (
        <p className="muted">No calls yet.</p>
      ) : (
        <div className="card table-scroll" tabIndex={0} role="region" aria-label="Past calls table">
          <table className="data-table" aria-label="Past calls">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Duration</th>
                <th scope="col">Who took part</th>
              </tr>
            </thead>
            <tbody>
              {history.sessions.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/studies/${study.id}/calls/${s.id}`}>{formatCallDate(s.startedAt)}</Link>
                  </td>
                  <td>{s.duration === null ? "—" : formatDuration(s.duration)}</td>
                  <td>{s.participants.map((p) => p.name).join(", ") || "Nobody joined"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        {!firstPage ? <Link to={`/studies/${study.id}/calls`}>Newest calls</Link> : null}
        {history.nextCursor ? (
          <Link to={`/studies/${study.id}/calls?cursor=${encodeURIComponent(history.nextCursor)}`}>Older calls →</Link>
        ) : null}
      </nav>
    </div>
  );
}
