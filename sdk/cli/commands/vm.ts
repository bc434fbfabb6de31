// `outpost vm …`: microVMs on hosts. The lifecycle (vm-lifecycle.ts), images (vm-image.ts), and the
// console and its logs (vm-console.ts).
import { type Command, subcommands } from "../command.ts";
import { vmConsole, vmConsoleHelp, vmLogs } from "./vm-console.ts";
import { vmImage, vmImageHelp } from "./vm-image.ts";
import { vmLifecycle, vmLifecycleHelp } from "./vm-lifecycle.ts";

const help = `${vmLifecycleHelp}\n\n${vmImageHelp.replace(/^usage: /, "       ")}\n\n${vmConsoleHelp.replace(/^usage: /, "       ")}`;

export const vm: Command = {
  name: "vm",
  summary: "microVMs on hosts: create, start, stop, snapshot, console, logs, … and their images",
  help,
  run: subcommands(help, { ...vmLifecycle, image: vmImage, console: vmConsole, logs: vmLogs }),
};
