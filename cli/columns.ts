/** Rows of cells as lines of aligned columns, two spaces apart, the header first. */
export function alignColumns (header: string[], rows: string[][]): string[] {
  const lines = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...lines.map(line => line[i]?.length ?? 0)))
  return lines.map(line => line.map((cell, i) => i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  '))
}
