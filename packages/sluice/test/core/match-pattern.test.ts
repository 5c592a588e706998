import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePattern } from '../../src/core/match-pattern.ts';

function matches(pattern: string, tag: string): boolean {
  return compilePattern(pattern)(tag);
}

// Cases mirror Fluentd's test/test_match.rb.
test('a plain pattern matches only that tag', () => {
  assert.ok(matches('a', 'a'));
  assert.ok(!matches('a', 'b'));
  assert.ok(!matches('a', 'a.b'));
  assert.ok(matches('a.b', 'a.b'));
});

test('* matches exactly one tag part', () => {
  assert.ok(matches('a.*', 'a.b'));
  assert.ok(!matches('a.*', 'a'));
  assert.ok(!matches('a.*', 'a.b.c'));
  assert.ok(matches('*.b', 'a.b'));
  assert.ok(matches('a.*.c', 'a.b.c'));
  assert.ok(!matches('a.*.c', 'a.b.d'));
  assert.ok(matches('*', 'a'));
  assert.ok(!matches('*', 'a.b'));
});

test('** matches zero or more parts, and a.** matches a itself', () => {
  assert.ok(matches('**', 'a'));
  assert.ok(matches('**', 'a.b.c'));
  assert.ok(matches('a.**', 'a'));
  assert.ok(matches('a.**', 'a.b'));
  assert.ok(matches('a.**', 'a.b.c'));
  assert.ok(!matches('a.**', 'ab'));
  assert.ok(!matches('a.**', 'b.a'));
  assert.ok(matches('**.c', 'c'));
  assert.ok(matches('**.c', 'a.b.c'));
  assert.ok(!matches('**.c', 'a.bc'));
  assert.ok(matches('a.**.c', 'a.c'));
  assert.ok(matches('a.**.c', 'a.b.c'));
  assert.ok(matches('a.**.c', 'a.x.y.c'));
});

test('{a,b} alternatives, also combined with * and nested', () => {
  assert.ok(matches('{a,b}', 'a'));
  assert.ok(matches('{a,b}', 'b'));
  assert.ok(!matches('{a,b}', 'c'));
  assert.ok(matches('{a,b}.*', 'a.x'));
  assert.ok(matches('{a,b}.*', 'b.y'));
  assert.ok(!matches('{a,b}.*', 'c.x'));
  assert.ok(!matches('{a,b}.*', 'a'));
  assert.ok(matches('a.{b,c.**}', 'a.c.d.e'));
  assert.ok(matches('a.{b,c.**}', 'a.b'));
  assert.ok(!matches('a.{b,c.**}', 'a.d'));
});

test('several patterns separated by spaces match when any does', () => {
  assert.ok(matches('a b.*', 'a'));
  assert.ok(matches('a b.*', 'b.c'));
  assert.ok(!matches('a b.*', 'c'));
});

test('/regex/ patterns match the whole tag', () => {
  assert.ok(matches('/ap+\\.(x|y)/', 'app.x'));
  assert.ok(!matches('/ap+\\.(x|y)/', 'app.xz'));
  assert.throws(() => compilePattern('/abc'), /must end with \//);
});

test('special characters are literal and \\ escapes', () => {
  assert.ok(matches('a-b', 'a-b'));
  assert.ok(!matches('a-b', 'a_b'));
  assert.ok(matches('a\\*', 'a*'));
  assert.ok(!matches('a\\*', 'ab'));
});
