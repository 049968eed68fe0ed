/** The NAS-Bench-201 search space: strings, the benchmark table, isomorphism, sampling. */
export {
  NB201_EDGES,
  NB201_NUM_CELLS,
  NB201_NUM_EDGES,
  NB201_OPS,
  assertNb201Cell,
  formatNb201,
  isNb201Op,
  nb201CellCode,
  nb201CellFromCode,
  nb201EdgePosition,
  parseNb201,
  toNb201Cell,
  type Nb201Cell,
  type Nb201Op,
} from './archString.js';
export {
  NB201_CSV_HEADER,
  NB201_NUMERIC_COLUMNS,
  Nb201Table,
  isNb201Column,
  loadNb201Table,
  nb201DataPath,
  type Nb201Column,
  type Nb201Row,
} from './benchmarkTable.js';
export { isIsomorphicNb201, isomorphismKey } from './isomorphism.js';
export { mutateNb201, neighboursNb201, sampleNb201, sampleNb201Indices } from './sampling.js';
export * from './network.js';
