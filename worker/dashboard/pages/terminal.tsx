import { Layout } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

/** The browser terminal: client/terminal.ts opens the host's pty stream from data-host. */
export function TerminalPage(props: { caller: DashboardCaller; fqdn: string }) {
  return (
    <Layout
      title={`Terminal · ${props.fqdn}`}
      caller={props.caller}
      scripts={["/assets/terminal.js"]}
      styles={["/assets/xterm.css"]}
    >
      <p id="terminal-status">connecting…</p>
      <div id="terminal" class="terminal" data-host={props.fqdn} />
    </Layout>
  );
}
