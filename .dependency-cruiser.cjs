// The import rules of packages/sluice/src (docs/ARCHITECTURE.md, "Layers"). `npm run lint:deps`
// and the test suite (test/layout.test.ts) run this; a new cycle or a plugin reaching into
// the engine or into another plugin fails CI.
const SRC = '^packages/sluice/src/';
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Import cycles tie layers together; break them with an interface in the lower layer.',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'plugin-not-into-engine-or-apps',
      severity: 'error',
      comment:
        'A plugin gets what it needs from the engine through PluginContext (core/plugin.ts), never by importing engine/, cli/ or agent/.',
      from: { path: `${SRC}plugins/` },
      to: { path: `${SRC}(engine|cli|agent)/` },
    },
    {
      name: 'plugin-not-into-another-plugin',
      severity: 'error',
      comment:
        'A plugin is one file or one folder; code two plugins share lives in shared/ (or a lower layer), not inside one of them.',
      from: { path: `${SRC}plugins/([^/]+)/([^/.]+)` },
      to: {
        path: `${SRC}plugins/`,
        pathNot: [`${SRC}plugins/$1/$2(\\.ts|/)`],
      },
    },
    {
      name: 'shared-not-into-plugins-or-above',
      severity: 'error',
      comment: 'shared/ serves plugins; it must not depend on a plugin, the engine or the apps.',
      from: { path: `${SRC}shared/` },
      to: { path: `${SRC}(plugins|engine|cli|agent|monitor)/` },
    },
    {
      name: 'monitor-not-into-engine-or-apps',
      severity: 'error',
      comment: 'monitor/ reads the pipeline through PipelineView (core/pipeline-view.ts), so monitoring plugins can use it.',
      from: { path: `${SRC}monitor/` },
      to: { path: `${SRC}(engine|cli|agent|plugins)/` },
    },
    {
      name: 'lower-layers-stay-low',
      severity: 'error',
      comment: 'core/, codec/, time/ and config/ are the bottom layers: they import nothing above them.',
      from: { path: `${SRC}(core|codec|time|config)/` },
      to: { path: `${SRC}(buffer|engine|plugins|shared|monitor|cli|agent|testing)/` },
    },
    {
      name: 'buffer-below-engine',
      severity: 'error',
      comment: 'The buffer engine is used by the engine; it gets what it builds (stores) passed in.',
      from: { path: `${SRC}buffer/` },
      to: { path: `${SRC}(engine|plugins|shared|monitor|cli|agent)/` },
    },
    {
      name: 'engine-not-into-apps',
      severity: 'error',
      from: { path: `${SRC}engine/` },
      to: { path: `${SRC}(cli|agent|monitor|plugins)/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(node_modules|/dist/)' },
  },
};
