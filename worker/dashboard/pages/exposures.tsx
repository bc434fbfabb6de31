import { RANK } from "../../auth/roles.ts";
import type { listExposures } from "../data.ts";
import { Layout, Table } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

/**
 * The tenant's exposures, each linked at its own origin. Operators and admins get a Remove button (a
 * form with the session's CSRF token); viewers see none, and the server refuses them anyway.
 */
export function ExposuresPage(props: {
  caller: DashboardCaller;
  rows: Awaited<ReturnType<typeof listExposures>>;
  urlOf: (name: string) => string | null;
}) {
  const mayRemove = RANK[props.caller.role] >= RANK.operator;
  return (
    <Layout title="Exposures" caller={props.caller}>
      <Table
        id="exposures"
        head={["Name", "Host", "Service", "Access", "Hostname", "Address", ...(mayRemove ? [""] : [])]}
      >
        {props.rows.map((r) => {
          const url = props.urlOf(r.exposure.name);
          return (
            <tr data-exposure={r.exposure.name}>
              <td>{r.exposure.name}</td>
              <td>{`${r.host}.${r.cluster}`}</td>
              <td>{r.exposure.service}</td>
              <td>{r.exposure.access}</td>
              <td>{r.exposure.hostname ?? ""}</td>
              <td>{url ? <a href={url}>{url}</a> : ""}</td>
              {mayRemove && (
                <td>
                  <form
                    method="post"
                    action={`/exposures/${encodeURIComponent(r.exposure.name)}/remove`}
                    class="inline"
                  >
                    <input type="hidden" name="csrf" value={props.caller.csrf} />
                    <button type="submit" class="remove">
                      Remove
                    </button>
                  </form>
                </td>
              )}
            </tr>
          );
        })}
      </Table>
    </Layout>
  );
}
