#!/usr/bin/env node
// Entry point of the `tinycdn` CLI. The sources are TypeScript run directly by Node 24's
// type stripping (no build step); this file only loads them.
import '../cli/main.ts';
