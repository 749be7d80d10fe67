/** A `ChartPool` thread: draws one chart per task. */
import { imageOf } from './charts.ts';

export default imageOf;
