import { measureBytesPerVersion } from '../simulations/bench/bytes-per-version.js'
import { measureBurst } from '../simulations/bench/burst.js'
import { routersForSize } from '../simulations/bench/configs.js'
const which = process.argv[2]
if (which === 'bytes') for (const routers of [routersForSize(2048), 10_000]) console.log(JSON.stringify(await measureBytesPerVersion(5, routers, 3)))
if (which === 'burst') console.log(JSON.stringify(await measureBurst(10, 20, 2 * 1024 * 1024)))
process.exit(0)
