#!/usr/bin/env node
// Runs the TypeScript CLI in this same process (tsx loader), so signals reach the engine directly.
import { register } from 'tsx/esm/api';
register();
await import('../app/main.ts');
