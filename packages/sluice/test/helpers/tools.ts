// Tools from outside npm that some tests run for real. `npm test` installs them first
// (scripts/test-deps.sh); a test run some other way fails with the step that installs a
// missing one, instead of an ENOENT deep inside the test.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const checked = new Set<string>();

/** Throws unless `command` runs (`command --version` or the given probe arguments). */
export function requireTool(command: string, debianPackage: string, probe: string[] = ['--version']): void {
  if (checked.has(command)) return;
  try {
    if (command.includes('/')) accessSync(command, constants.X_OK);
    else execFileSync(command, probe, { stdio: 'ignore' });
  } catch {
    throw new Error(
      `${command} is not installed: this test runs it for real. ` +
        `\`bash scripts/test-deps.sh\` installs it (Debian package ${debianPackage}), as \`npm test\` does first.`,
    );
  }
  checked.add(command);
}
