// Writes docs/errors.md from the error catalogue (packages/sluice/src/core/error-codes.ts):
// `npm run docs:errors`. test/core/error-codes.test.ts fails when the file is not what this
// renders, so the table and the catalogue cannot drift apart.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type ErrorInfo } from '../packages/sluice/src/core/error-codes.ts';

export const ERRORS_DOC = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderErrorsDoc(codes: Record<string, ErrorInfo> = ERROR_CODES): string {
  const rows = Object.entries(codes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, i]) => `| \`${code}\` | ${cell(i.where)} | ${cell(i.means)} | ${cell(i.todo)} |`);
  return `# Error codes

<!-- Generated from packages/sluice/src/core/error-codes.ts by \`npm run docs:errors\`; do not edit. -->

Every error and warning a Sluice user can meet has a stable code: in the \`code\` of the
exception, in the \`code\` field of the log line (JSON logs: \`{"level":40,"code":"...","msg":"..."}\`),
and, for many configuration errors, at the head of the message (\`S3_PARAM_NOT_BUILT: ...\`).
A command that stops on an error prints its message, then the code and what to do.
Codes never change meaning; alert on them rather than on message text.

Configuration errors without a more precise code are \`SLUICE_CONFIG\`; their message starts
with the \`file:line:column\` of the value at fault. Pages of single plugins and topics give
more detail: [forward-protocol.md](forward-protocol.md), [syslog.md](syslog.md),
[http.md](http.md), [tail.md](tail.md), [postback.md](postback.md),
[outputs/s3.md](outputs/s3.md), [outputs/elasticsearch.md](outputs/elasticsearch.md),
[outputs/kafka.md](outputs/kafka.md).

| code | where | what it means | what to do |
|---|---|---|---|
${rows.join('\n')}
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ERRORS_DOC, renderErrorsDoc());
  console.log(`wrote ${ERRORS_DOC}`);
}
