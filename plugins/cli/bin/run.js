#!/usr/bin/env node
// The standalone `push-jobs` command: `push-jobs push jobs start ...` (the plugin's commands,
// run without a host CLI). The code is in ../lib (built from src/).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
