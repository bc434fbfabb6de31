import type { listExposures } from "../data.ts";
import { Layout } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

export function ExposuresPage(props: {
  caller: DashboardCaller;
  rows: Awaited<ReturnType<typeof listExposures>>;
}) {
  return (
    <Layout title="Exposures" caller={props.caller}>
      <table id="exposures">
        <thead>
          <tr>
            <th>Name</th>
            <th>Host</th>
            <th>Service</th>
            <th>Access</th>
            <th>Hostname</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr>
              <td>{r.exposure.name}</td>
              <td>{`${r.host}.${r.cluster}`}</td>
              <td>{r.exposure.service}</td>
              <td>{r.exposure.access}</td>
              <td>{r.exposure.hostname ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
