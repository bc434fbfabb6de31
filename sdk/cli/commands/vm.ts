// `outpost vm …`: microVMs on hosts. Images (vm-image.ts); the console and its logs (vm-console.ts).
import { type Command, subcommands } from "../command.ts";
import { vmConsole, vmConsoleHelp, vmLogs } from "./vm-console.ts";
import { vmImage, vmImageHelp } from "./vm-image.ts";

const help = `${vmImageHelp}\n\n${vmConsoleHelp}`;

export const vm: Command = {
  name: "vm",
  summary: "microVMs on hosts: images (push, ls, rm), console, logs",
  help,
  run: subcommands(help, { image: vmImage, console: vmConsole, logs: vmLogs }),
};
