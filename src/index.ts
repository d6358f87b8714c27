/**
 * Entry point of the container image (`CMD ["index.handler"]`): runs the
 * Lambda that `LAMBDA_HANDLER` names, loading only that one's code.
 */
import { selectLambda } from './lambda-selection.js';

const lambda = selectLambda(process.env.LAMBDA_HANDLER);

export const { handler } =
  lambda === 'handler' ? await import('./handler/handler.js') : await import('./uploader/uploader.js');
