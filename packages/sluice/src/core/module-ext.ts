/**
 * The extension of Sluice's own modules where they run: `.ts` from the sources (through
 * tsx), `.js` from the compiled build. Code that finds modules by file name (plugins,
 * optional subcommands) looks for this one.
 */
export const MODULE_EXT: '.ts' | '.js' = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
