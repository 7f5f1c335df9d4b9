/** Migration file names (`000001_name.ts`). */
export declare const MIGRATION: RegExp;
/** Whether dist/ is current for the sources of the package at `root` (default: this one). */
export declare function compiledIsCurrent(root?: URL): boolean;
