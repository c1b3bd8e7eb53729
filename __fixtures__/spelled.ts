// The engine names settings by reference (src/base/setting-ref.ts); a test that reads its messages
// directly spells them as the Action's front end does.
import { actionSetting } from '../src/action/step.js'
import { renderSettings } from '../src/base/setting-ref.js'

export const asAction = (text: string | undefined) => renderSettings(text ?? '', actionSetting)
