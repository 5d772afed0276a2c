// Renders the filter explanation of POST /api/v1/filters/eval (filter.h, Explain):
//   {"result": b, "expression": node | null}; node: {op, result, line, column, children?, field?,
//   expected?, found? | missing?, found_truncated?, found_kind?, found_size?}
import {h} from './dom.js';

function short(value) {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

function mark(result) {
  return h('span', {class: `mark-${result}`}, result ? '✓ true' : '✗ false');
}

function describe(node) {
  const parts = [h('code', {}, node.op)];
  if (node.field !== undefined) parts.push(' ', h('code', {}, node.field));
  if (node.expected !== undefined) parts.push(' ', h('code', {}, short(node.expected)));
  if (node.missing) parts.push(' — field missing');
  else if (node.found !== undefined) parts.push(' — found ', h('code', {}, short(node.found)));
  else if (node.found_truncated) parts.push(` — found a ${node.found_kind} of ${node.found_size} (too large to show)`);
  if (node.line) parts.push(h('span', {class: 'muted'}, ` (${node.line}:${node.column})`));
  return parts;
}

function renderNode(node) {
  const item = h('li', {'data-result': String(node.result)}, mark(node.result), ' ', describe(node));
  if (node.children && node.children.length) item.append(h('ul', {}, node.children.map(renderNode)));
  return item;
}

// The explanation as a nested list, one item per sub-expression with its own result.
export function renderExplanation(explanation) {
  if (explanation && explanation.op) explanation = {result: explanation.result, expression: explanation};
  if (!explanation || explanation.expression === null || explanation.expression === undefined) {
    return h('p', {class: 'muted'}, 'The empty filter matches every event.');
  }
  return h('ul', {class: 'explain', 'aria-label': 'Explanation of each sub-expression'},
    renderNode(explanation.expression));
}

export function resultBadge(result) {
  return h('span', {class: `result result-${result}`, 'data-testid': 'filter-result'}, result ? 'true' : 'false');
}
