import { makeCsvHarness } from '../integration/csv.harness';
import { sourceConnectorConformance } from './source-connector.conformance';

// Every source connector opts in here (or in its own integration test file, next to its simulator).
sourceConnectorConformance('csv', makeCsvHarness);
