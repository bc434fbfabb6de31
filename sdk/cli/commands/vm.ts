// `outpost vm …`: microVMs on hosts. The lifecycle (vm-lifecycle.ts) and images (vm-image.ts).
import { type Command, subcommands } from "../command.ts";
import { vmImage, vmImageHelp } from "./vm-image.ts";
import { vmLifecycle, vmLifecycleHelp } from "./vm-lifecycle.ts";

const help = `${vmLifecycleHelp}\n\n${vmImageHelp.replace(/^usage: /, "       ")}`;

export const vm: Command = {
  name: "vm",
  summary: "microVMs on hosts: create, start, stop, snapshot, … and their images",
  help,
  run: subcommands(help, { ...vmLifecycle, image: vmImage }),
};
