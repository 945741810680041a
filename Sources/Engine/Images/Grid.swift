extension RGBImage {
    /// Images laid out in rows on white, each cell `cell` px on its longest side and centred,
    /// with a label above each column and one left of each row: the layout of the seed paper's
    /// reconstruction figure. A nil image leaves its cell empty.
    public static func grid(_ rows: [[RGBImage?]], rowLabels: [String], columnLabels: [String], cell: Int) -> RGBImage {
        let scale = 2, gap = 8
        let textHeight = BitmapFont.height * scale
        let labelWidth = (rowLabels.map { BitmapFont.width(of: $0, scale: scale) }.max() ?? 0) + gap
        let columns = max(columnLabels.count, rows.map(\.count).max() ?? 0)
        // a column is as wide as its cell or its label, whichever is wider
        let column = max(cell, columnLabels.map { BitmapFont.width(of: $0, scale: scale) }.max() ?? 0)
        let width = labelWidth + columns * (column + gap) + gap
        let height = textHeight + gap + rows.count * (cell + gap) + gap
        var out = RGBImage(width: width, height: height, pixels: [Float](repeating: 255, count: width * height * 3))
        let ink: (Float, Float, Float) = (30, 30, 30)
        for (c, label) in columnLabels.enumerated() {
            let x0 = labelWidth + c * (column + gap) + (column - BitmapFont.width(of: label, scale: scale)) / 2
            BitmapFont.draw(label, into: &out, x: x0, y: gap / 2, scale: scale, colour: ink)
        }
        for (r, row) in rows.enumerated() {
            let y0 = textHeight + gap + r * (cell + gap)
            if r < rowLabels.count {
                BitmapFont.draw(rowLabels[r], into: &out, x: gap / 2, y: y0 + (cell - textHeight) / 2, scale: scale, colour: ink)
            }
            for (c, image) in row.enumerated() {
                guard let image = image else { continue }
                let (w, h) = image.scaledSize(longestSide: cell)
                let fitted = image.resized(width: w, height: h)
                let x0 = labelWidth + c * (column + gap) + (column - w) / 2, yy = y0 + (cell - h) / 2
                for y in 0..<h {
                    for x in 0..<w {
                        let src = (y * w + x) * 3, dst = ((yy + y) * width + x0 + x) * 3
                        for k in 0..<3 { out.pixels[dst + k] = min(255, max(0, fitted.pixels[src + k])) }
                    }
                }
            }
        }
        return out
    }
}
