import XCTest
final class AudioDSPTestsSmoke: XCTestCase { func testNothing() {} }
