import { Command } from "commander"; export function detectCommand(): Command { return new Command("detect"); }
