#!/usr/bin/env node
/**
 * The `mptcp` executable (package.json "bin": dist/cli/main.js). Everything lives in ./cli.ts; this file only
 * binds it to the process: arguments, stdio, exit code (set, not forced, so buffered output is flushed).
 */
import { processIo, runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
