import type { sessions } from "../../../schema/db/tables.ts";
import { Layout } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

/** Plays a recorded pty session: client/playback.ts fetches the asciicast and replays it at its pace. */
export function PlaybackPage(props: {
  caller: DashboardCaller;
  session: typeof sessions.$inferSelect;
  fqdn: string;
}) {
  const s = props.session;
  return (
    <Layout
      title={`Session on ${props.fqdn}`}
      caller={props.caller}
      scripts={["/assets/playback.js"]}
      styles={["/assets/xterm.css"]}
    >
      <p>
        {s.startedAt.toISOString()} · {s.actor} · <span id="playback-status">loading…</span>
      </p>
      <div id="terminal" class="terminal" data-recording={`/sessions/${s.id}/recording`} />
    </Layout>
  );
}
