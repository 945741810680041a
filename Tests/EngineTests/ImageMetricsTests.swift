import XCTest
@testable import Engine

/// PSNR and mean colour, as `reconstruct` reports them, on 8-bit values (clamped and rounded).
final class ImageMetricsTests: XCTestCase {
    func testPSNRFromAKnownError() {
        let a = RGBImage(width: 2, height: 1, pixels: [10, 20, 30, 40, 50, 60])
        XCTAssertEqual(a.psnr(against: a), .infinity)
        // one sample off by 6 in 6: MSE 6, PSNR 10·log10(255²/6)
        let b = RGBImage(width: 2, height: 1, pixels: [10, 20, 30, 40, 56, 60])
        XCTAssertEqual(a.psnr(against: b), 10 * log10(255.0 * 255.0 / 6), accuracy: 1e-9)
        // samples are compared as stored: 300 is 255, −4 is 0, 19.6 is 20
        let c = RGBImage(width: 2, height: 1, pixels: [-4, 19.6, 30, 40, 50, 300])
        let d = RGBImage(width: 2, height: 1, pixels: [0, 20, 30, 40, 50, 255])
        XCTAssertEqual(c.psnr(against: d), .infinity)
    }

    func testMeanColourPerChannel() {
        let a = RGBImage(width: 2, height: 1, pixels: [10, 20, 300, 30, 40, -5])
        XCTAssertEqual(a.meanColour, [20, 30, 127.5])
    }
}
