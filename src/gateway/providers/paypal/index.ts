export { type PayPalConfig, type PayPalConfigInput, parsePayPalConfig, Secret } from './config';
export {
  CANCEL_PARAM,
  createPayPalProvider,
  PAYPAL_SDK_VERSION,
  type PayPalLogLine,
  PayPalProvider,
  type PayPalProviderOptions,
} from './connector';
export { scrub } from './transformers';
