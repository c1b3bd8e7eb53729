// The Action's post step: when the main step placed an order and did not finish with it (the runner
// killed it, or a step timeout did), the order is cancelled on the server, as main itself does when
// it gives up. It does nothing after a finished run or with cancel-on-timeout: false; it takes at most
// POST_LIMIT_MS, warns only when the cancel fails, and never fails the job on its own account.
import { cancelLeftOrder } from '../engine/cancel.js'
import { actionLine, type ActionCore, defaultStepDeps, POST_STATE, readStepConnection, type StepDeps, stepSecrets } from './step.js'

/** The whole step's bound: sign-in and cancel. */
export const POST_LIMIT_MS = 10_000

export async function post(deps: StepDeps = defaultStepDeps()): Promise<void> {
  const { core } = deps
  const name = core.getState(POST_STATE.orderName)
  if (!name || core.getState(POST_STATE.settled) === 'true') return
  if (core.getState(POST_STATE.cancelOnTimeout) !== 'true') {
    core.info(`Order ${name} may still be running on the server (cancel-on-timeout: false); re-run with order-name: ${name} to fetch it.`)
    return
  }
  const secrets = stepSecrets(core)
  const line = actionLine(secrets)
  const couldNot = (why: string) => core.warning(line(`Could not cancel order ${name}, which may still be running on the server: ${why}`))
  try {
    const inputs = readStepConnection(deps, secrets)
    core.info(`The main step stopped before it was done with order ${name}: cancelling it on the server.`)
    const why = await cancelLeftOrder(inputs, name, { ...logTo(core, line), secret: v => secrets.register(v) }, { clock: deps.clock, limitMs: POST_LIMIT_MS })
    if (why) couldNot(why)
    else core.info(`Cancelled order ${name} on the server.`)
  } catch (e) {
    // An input read again here may be refused (its words name a setting) or the sign-in may fail.
    couldNot((e as Error).message)
  }
}

function logTo(core: ActionCore, line: (m: string) => string) {
  return { debug: (m: string) => core.debug(line(m)), info: (m: string) => core.info(line(m)), warning: (m: string) => core.warning(line(m)) }
}
