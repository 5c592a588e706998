// Named captures in a repeated group keep Ruby's values (src/shared/parse/ruby-captures.ts), so
// the official fluentd-kubernetes-daemonset kube-apiserver-audit.conf parses audit lines
// as Fluentd does. Before, JavaScript's reset of a repeated group's captures kept only the
// last field of each line (uri), and id, ip, method, user... were lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigFile } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import multiline, { type MultilineParser } from '../../../src/plugins/parser/multiline.ts';
import regexp from '../../../src/plugins/parser/regexp.ts';
import { rubyCaptures } from '../../../src/shared/parse/ruby-captures.ts';
import { compileRubyRegexp } from '../../../src/shared/parse/ruby-regexp.ts';
import { testContext } from '../../../src/testing/context.ts';
import { build } from './helpers.ts';

const AUDIT_CONF = fileURLToPath(
  new URL(
    '../../fixtures/k8s-daemonset/debian-forward/kubernetes/kube-apiserver-audit.conf',
    import.meta.url,
  ),
);

// The two example lines at the top of kube-apiserver-audit.conf.
const QUERY =
  '2017-02-09T00:15:57.992775796Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" ip="104.132.1.72" method="GET" user="kubecfg" as="<self>" asgroups="<lookup>" namespace="default" uri="/api/v1/namespaces/default/pods"';
const RESPONSE =
  '2017-02-09T00:15:57.993528822Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" response="200"';

function auditParser(): MultilineParser {
  const source = parseConfigFile(AUDIT_CONF).elements[0]!;
  const parse = source.elements.find((e) => e.name === 'parse')!;
  return multiline.create(resolve(multiline.schema, parse, '<parse>'), testContext()) as MultilineParser;
}

test('kube-apiserver-audit.conf: every field of an audit line, as Fluentd reads it', () => {
  const p = auditParser();
  const q = p.parse(QUERY)!;
  assert.deepEqual(q.record, {
    id: '90c73c7c-97d6-4b65-9461-f94606ff825f',
    ip: '104.132.1.72',
    method: 'GET',
    user: 'kubecfg',
    as: '<self>',
    asgroups: '<lookup>',
    namespace: 'default',
    uri: '/api/v1/namespaces/default/pods',
  });
  // time_format %Y-%m-%dT%T.%L%Z: %L before a non-digit reads every digit, as Ruby's does.
  assert.equal(q.time!.sec, Date.UTC(2017, 1, 9, 0, 15, 57) / 1000);
  assert.equal(q.time!.nsec, 992775796);
  const r = p.parse(RESPONSE)!;
  assert.deepEqual(r.record, { id: '90c73c7c-97d6-4b65-9461-f94606ff825f', response: '200' });
});

test('a name keeps the last value any iteration gave it; unmatched names stay absent', () => {
  const p = build(regexp, 'expression /^(?<k>\\w+):(?: (?:a=(?<a>\\d+)|b=(?<b>\\d+)|\\w+=\\d+))*$/');
  assert.deepEqual(p.parse('x: a=1 b=2 a=3 c=4')!.record, { k: 'x', a: '3', b: '2' });
  assert.deepEqual(p.parse('x: b=5')!.record, { k: 'x', b: '5' });
  assert.deepEqual(p.parse('x:')!.record, { k: 'x' });
});

test('the iterations are the ones the whole match took (a lazy or backtracking split)', () => {
  // Iteration by iteration, the second "a" would be x; the whole match needs a|ab.
  const c = rubyCaptures(compileRubyRegexp('^(?:(?<x>a)|(?<y>ab))+$'))!;
  const m = c.regexp.exec('aab')!;
  c.fix(m);
  assert.deepEqual({ ...m.groups }, { x: 'a', y: 'ab' });
  // A named group that is itself repeated keeps its last iteration, as in JS and Ruby.
  const d = rubyCaptures(compileRubyRegexp('^(?<w>\\w)+ (?:(?<p>p)|(?<q>q))*$'))!;
  const n = d.regexp.exec('abc pq')!;
  d.fix(n);
  assert.deepEqual({ ...n.groups }, { w: 'c', p: 'p', q: 'q' });
  // An exact count repeats too.
  const e = rubyCaptures(compileRubyRegexp('^(?:(?<a>a)|(?<b>b)){2}$'))!;
  const o = e.regexp.exec('ab')!;
  e.fix(o);
  assert.deepEqual({ ...o.groups }, { a: 'a', b: 'b' });
});

test('expressions whose captures mean the same in JavaScript are left as they are', () => {
  for (const src of [
    '^(?<a>\\w+) (?<b>.*)$',
    '^(?:ab)* (?<a>x)?$',
    '^(?:(?<a>x)|(?<b>y)){0,1}$',
    '^(?<a>x)(?:\\k<a>|(?<b>y))*$', // a backreference: numbering would shift
  ])
    assert.equal(rubyCaptures(compileRubyRegexp(src)), undefined, src);
});
