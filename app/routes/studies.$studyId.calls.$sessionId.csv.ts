/** "Download CSV": the per-person table of a past call, the same rows the page shows (tableRows). */
import type { LoaderFunctionArgs } from "@remix-run/node";
import { TABLE_HEADER, tableRows, toCsv } from "~/utils/call-table";
import { loadCallRecord } from "~/utils/call-history.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { record } = await loadCallRecord(request, context, params);
  const date = record.session.startedAt.slice(0, 16).replace(/[:T]/g, "-");
  return new Response(toCsv(TABLE_HEADER, tableRows(record.people)), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="call-${date}.csv"`,
      "Cache-Control": "private, no-store",
    },
  });
}
