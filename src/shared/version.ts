// This package's version, compiled into each bundle (a bundle cannot count on finding package.json
// beside it: the Action's dist/ and an npm install lay files out differently).
import manifest from '../../package.json' with { type: 'json' }

export const VERSION: string = manifest.version
