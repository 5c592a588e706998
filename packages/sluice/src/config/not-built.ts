// Parameters and sections of a Fluentd plugin that Sluice does not build, declared once per
// plugin: the declaration gives the schema entries (so the generated docs list them and an
// unknown-parameter warning does not fire) and the check that refuses a config asking for
// them by name, under the plugin's own error code, instead of running without them.
import { ConfigError } from '../core/errors.ts';
import type { ConfigElement } from './ast.ts';
import type { ParamSpec, SectionSpec } from './schema.ts';

export interface NotBuiltDeclaration {
  /** the error code of a refusal, e.g. S3_PARAM_NOT_BUILT */
  code: string;
  /** whose parameters they are, as messages say it: 'fluent-plugin-s3' */
  of: string;
  /** the page that says what to do instead: 'docs/outputs/s3.md' */
  docs: string;
  /**
   * Parameter -> the values that ask for nothing Sluice lacks: `[]` none (any value is
   * refused), `['*']` any (the parameter is accepted and has no effect).
   */
  params: Record<string, readonly string[]>;
  /** why a `['*']` parameter has no effect, in its description: 'the AWS SDK v3 decides' */
  anyValueBecause?: string;
  /** sections refused whenever present */
  sections?: readonly string[];
  /** what to use instead of a refused section, said after the refusal */
  sectionsInstead?: string;
}

export interface NotBuilt {
  /** the schema entries of the parameters (type string, no default) */
  params: Record<string, ParamSpec>;
  /** the schema entries of the sections (open: their content is not checked) */
  sections: Record<string, SectionSpec>;
  /** Whether `value` of a not-built parameter asks for nothing Sluice lacks. */
  harmless(name: string, value: string): boolean;
  /** Throws the ConfigError of the first not-built parameter or section the config asks for. */
  refuse(config: { element: ConfigElement; params: Readonly<Record<string, unknown>> }): void;
}

export function declareNotBuilt(d: NotBuiltDeclaration): NotBuilt {
  const harmless = (name: string, value: string) => {
    const ok = d.params[name] ?? [];
    return ok.includes('*') || ok.includes(value.trim());
  };
  const params: Record<string, ParamSpec> = {};
  for (const [name, ok] of Object.entries(d.params))
    params[name] = {
      type: 'string',
      description:
        ok.length === 0
          ? `Not built in Sluice: a config that sets it is refused (${d.code}).`
          : ok.includes('*')
            ? `Not built in Sluice${d.anyValueBecause ? ` (${d.anyValueBecause})` : ''}: accepted, no effect.`
            : `Not built in Sluice: accepted when ${ok.map((v) => (v === '' ? 'empty' : `\`${v}\``)).join(' or ')} (nothing asked for), else refused (${d.code}).`,
      default: null,
    };
  const sections: Record<string, SectionSpec> = {};
  for (const name of d.sections ?? [])
    sections[name] = {
      description: `Not built in Sluice: a config that has it is refused (${d.code}).`,
      open: true,
    };
  return {
    params,
    sections,
    harmless,
    refuse(config) {
      const el = config.element;
      for (const name of Object.keys(d.params)) {
        const value = config.params[name];
        if (value != null && !harmless(name, String(value)))
          throw new ConfigError(
            `${d.code}: parameter '${name}' of ${d.of} is not built in Sluice (see ${d.docs})`,
            el.params.find((x) => x.key === name)?.location ?? el.location,
          );
      }
      for (const name of d.sections ?? []) {
        const section = el.elements.find((e) => e.name === name);
        if (section)
          throw new ConfigError(
            `${d.code}: section <${name}> of ${d.of} is not built in Sluice${d.sectionsInstead ? `; ${d.sectionsInstead}` : ''} (see ${d.docs})`,
            section.location,
          );
      }
    },
  };
}
