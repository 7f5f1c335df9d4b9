/** The `operon` command (bin/operon.js loads this file through tsx): the CLI with the shipped parts. */
import { runCli } from '../engine/cli/main.ts';
import { shippedComposition } from './composition.ts';

runCli(process.argv.slice(2), shippedComposition);
