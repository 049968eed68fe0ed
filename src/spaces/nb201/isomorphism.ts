/**
 * Isomorphism keys for NAS-Bench-201 cells, identical to NATS-Bench's
 * `get_unique_str` (AutoDL `Structure.to_unique_str(consider_zero=True)`),
 * i.e. to the benchmark table's `iso_class` column for all 15,625 cells.
 *
 * Each node is written as an expression over node 0 ("0"):
 *   - `none` on an edge, or any op applied to a node that is exactly zero
 *     ("#"), gives "#";
 *   - `skip_connect` passes the input expression through unchanged;
 *   - any other op gives "(<input>)@<op>";
 *   - a node is the '+'-join of its incoming terms, sorted (code-point order),
 *     which makes the sum commutative.
 * The key is the expression of node 3, so nodes that do not feed node 3 (and
 * their ops) never appear in it. Cells with the same key compute the same
 * function (given shared weights per op position); this key yields
 * NAS-Bench-201's 6,466 classes. It is the benchmark's convention, not a
 * minimal canonical form: zero terms in a sum are kept ("#+0", not "0"), and
 * an op on a sum of zeros ("(#+#)@avg_pool_3x3") is not reduced to "#", so a
 * few cells with equal functions still get different keys — exactly as in
 * NATS-Bench.
 */
import { toNb201Cell, type Nb201Cell } from './archString.js';

const ZERO = '#';

/** The NATS-Bench isomorphism key of a cell (or of its standard string). */
export function isomorphismKey(arch: string | Nb201Cell): string {
  const cell = toNb201Cell(arch);
  const nodes: string[] = ['0'];
  let e = 0;
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    for (let i = 0; i < j; i++, e++) {
      const op = cell[e];
      const input = nodes[i];
      if (op === 'none' || input === ZERO) terms.push(ZERO);
      else if (op === 'skip_connect') terms.push(input);
      else terms.push(`(${input})@${op}`);
    }
    // Python's sorted() on str compares code points; for these ASCII strings
    // the default JS sort (UTF-16 code units) is the same order.
    nodes.push(terms.sort().join('+'));
  }
  return nodes[3];
}

/** Whether two cells fall in the same NAS-Bench-201 isomorphism class. */
export function isIsomorphicNb201(a: string | Nb201Cell, b: string | Nb201Cell): boolean {
  return isomorphismKey(a) === isomorphismKey(b);
}
