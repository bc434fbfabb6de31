import { RANK } from "../../auth/roles.ts";
import type { hostDetail } from "../data.ts";
import { Layout, When } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

type Detail = Awaited<ReturnType<typeof hostDetail>>;

function factValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * A host: facts, labels, services and its sessions. Apps, VMs and jobs get their sections here as
 * those routes land on main (each one more <section> fed from data.ts).
 */
export function HostPage(props: { caller: DashboardCaller; detail: Detail }) {
  const { host, fqdn, site, services, sessions } = props.detail;
  const mayOpen = RANK[props.caller.role] >= RANK.operator;
  const href = `/hosts/${encodeURIComponent(fqdn)}`;
  return (
    <Layout title={fqdn} caller={props.caller}>
      <p>
        <span class={`status ${host.status}`}>{host.revokedAt ? "revoked" : host.status}</span> · {site} ·
        last seen <When at={host.lastSeenAt} /> · {host.runtime ?? ""} {host.agentVersion ?? ""}
      </p>
      {mayOpen && (
        <p>
          <a class="button" id="open-terminal" href={`${href}/terminal`}>
            Open a terminal
          </a>
        </p>
      )}
      <section>
        <h2>Facts</h2>
        <table id="facts">
          <tbody>
            {Object.entries(host.facts).map(([k, v]) => (
              <tr>
                <th>{k}</th>
                <td>{factValue(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Labels</h2>
        <ul>
          {Object.entries(host.labels).map(([k, v]) => (
            <li>{`${k}=${v}`}</li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Services</h2>
        <ul>
          {services.map((s) => (
            <li>{`${s.name} → ${s.target}`}</li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Sessions</h2>
        <table id="sessions">
          <thead>
            <tr>
              <th>Started</th>
              <th>Kind</th>
              <th>Who</th>
              <th>Command</th>
              <th>Exit</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr>
                <td>
                  {s.kind === "pty" && mayOpen ? (
                    <a href={`/sessions/${s.id}`}>{s.startedAt.toISOString()}</a>
                  ) : (
                    s.startedAt.toISOString()
                  )}
                </td>
                <td>{s.kind}</td>
                <td>{s.actor}</td>
                <td>{s.argv.join(" ")}</td>
                <td>{s.exitCode ?? s.endReason ?? (s.endedAt ? "" : "running")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Layout>
  );
}
