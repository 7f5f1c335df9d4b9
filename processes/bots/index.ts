/**
 * The bots Operon ships, one per demo web application (processes/demo-apps). Fields: docs/shipped-bots.md.
 */
import type { BotDefinition } from '../../nodes/bot/define.ts';
import { carrierBookingBot } from './carrier-booking.ts';
import { coreBankingBot } from './core-banking.ts';
import { creditBureauBot } from './credit-bureau.ts';
import { warehouseStockBot } from './warehouse-stock.ts';

export { carrierBookingBot, coreBankingBot, creditBureauBot, warehouseStockBot };

/** credit-bureau, core-banking, carrier-booking, warehouse-stock. */
export const shippedBots: BotDefinition[] = [creditBureauBot, coreBankingBot, carrierBookingBot, warehouseStockBot];
