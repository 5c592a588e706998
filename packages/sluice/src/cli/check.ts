import type { Command } from 'commander';
import { parseConfigFile } from '../config/parser.ts';
import { createLogger } from '../core/logger.ts';
import type { PipelineGraph } from '../core/pipeline-view.ts';
import { addCommonOptions, type CommonOptions, configPath, errorText, logLevel } from './options.ts';

export function registerCheck(program: Command): void {
  addCommonOptions(
    program.command('check').description('parse and validate a config, print the pipeline; exit 1 on error'),
  )
    .option(
      '--strict',
      'unknown parameters and sections are errors (by default warned and ignored, as in Fluentd)',
    )
    .action(async (o: CommonOptions) => {
      process.exitCode = await checkConfig(o);
    });
}

/** Dry run: everything `run` does before opening ports and files. */
export async function checkConfig(o: CommonOptions): Promise<number> {
  try {
    const path = configPath(o);
    const root = parseConfigFile(path);
    const { logger } = createLogger({ level: logLevel(o, 'warn'), file: o.log });
    // The engine is imported by the commands that build one, not by every process.
    const { Engine } = await import('../engine/engine.ts');
    const engine = await Engine.create(root, { logger, strict: o.strict });
    process.stdout.write(`${formatGraph(engine.graph())}\nconfiguration OK: ${path}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(errorText('sluice', e));
    return 1;
  }
}

export function formatGraph(g: PipelineGraph): string {
  const lines: string[] = ['sources:'];
  for (const i of g.inputs) lines.push(`  ${i.id} (@type ${i.type}) -> ${i.label ?? '(root)'}`);
  if (g.inputs.length === 0) lines.push('  (none)');
  for (const l of g.labels) {
    lines.push(`${l.name === '(root)' ? '(root)' : `<label ${l.name}>`}:`);
    for (const r of l.rules)
      lines.push(
        `  ${r.kind === 'filter' ? 'filter' : 'match '} ${r.pattern || '**'} -> ${r.id} (@type ${r.type})`,
      );
    if (l.rules.length === 0) lines.push('  (empty)');
  }
  return lines.join('\n');
}
