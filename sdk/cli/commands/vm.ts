// `outpost vm …`: microVMs on hosts. Images so far (vm-image.ts).
import { type Command, subcommands } from "../command.ts";
import { vmImage, vmImageHelp } from "./vm-image.ts";

const help = vmImageHelp;

export const vm: Command = {
  name: "vm",
  summary: "microVMs on hosts: images (push, ls, rm)",
  help,
  run: subcommands(help, { image: vmImage }),
};
