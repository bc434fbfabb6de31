import type { listAudit } from "../data.ts";
import { Layout } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

export function AuditPage(props: { caller: DashboardCaller; rows: Awaited<ReturnType<typeof listAudit>> }) {
  return (
    <Layout title="Audit log" caller={props.caller}>
      <table id="audit">
        <thead>
          <tr>
            <th>At</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((e) => (
            <tr>
              <td>{e.at.toISOString()}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target ?? ""}</td>
              <td>{e.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
