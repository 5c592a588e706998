// The real stores for tests and benchmarks (docs/testing.md). Each start function returns a
// handle with stop(); each honours an env var that points it at a server of your own.
export {
  FIREHOSE_LIMITS,
  type FirehoseFake,
  INTERNAL_FAILURE,
  startFirehoseFake,
  THROTTLED,
} from './firehose-fake.ts';
export { KAFKA_VERSION, type KafkaServer, startKafka } from './kafka.ts';
export { type MotoServer, startMoto, venvPython } from './moto.ts';
export { OPENSEARCH_VERSION, type OpenSearchServer, startOpenSearch } from './opensearch.ts';
export { pythonScript, runPython } from './python.ts';
