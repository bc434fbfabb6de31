import { RANK } from "../../auth/roles.ts";
import type { listAudit } from "../data.ts";
import { Layout, Table } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

/** An event's details as one line of JSON text (bounded), without what the columns already show. */
function detailsText(details: Record<string, unknown>): string {
  const { session: _session, ...rest } = details;
  const text = Object.keys(rest).length ? JSON.stringify(rest) : "";
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/**
 * The tenant's audit log, newest first, actors and targets by name. Actor names (key names), targets
 * and details (argv, reasons) come from tenants and agents: JSX text, never markup. A recorded
 * session's event links to its playback for operators and admins, who may watch it; viewers see its id.
 */
export function AuditPage(props: { caller: DashboardCaller; rows: Awaited<ReturnType<typeof listAudit>> }) {
  const mayWatch = RANK[props.caller.role] >= RANK.operator;
  return (
    <Layout title="Audit log" caller={props.caller}>
      <Table id="audit" head={["At", "Actor", "Action", "Target", "Outcome", "Session", "Details"]}>
        {props.rows.map((e) => (
          <tr data-action={e.action}>
            <td>
              <time>{e.at.toISOString()}</time>
            </td>
            <td class="actor">{e.by}</td>
            <td>{e.action}</td>
            <td class="target">{e.targetName ?? ""}</td>
            <td class={`outcome ${e.outcome}`}>{e.outcome}</td>
            <td class="session">
              {e.session && e.recorded && mayWatch ? (
                <a href={`/sessions/${e.session}`}>{e.session}</a>
              ) : (
                (e.session ?? "")
              )}
            </td>
            <td class="details">{detailsText(e.details)}</td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}
