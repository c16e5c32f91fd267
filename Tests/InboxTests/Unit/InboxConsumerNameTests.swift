import Inbox
import Testing

struct InboxConsumerNameTests {
    @Test func aLaterStartSortsFirst() {
        let earlier = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 1_764_000_000_000, nonce: 7).value
        let later = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 1_764_000_000_001, nonce: 7).value
        #expect(later < earlier)
        // Across a change in the number of digits of the inverted time, order still holds.
        let early = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 5, nonce: 0).value
        #expect(earlier < early)
    }

    @Test func theNameHasAFixedShape() {
        let name = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 1_764_000_000_000, nonce: 0xab).value
        #expect(name == "catalog-8236000000000-000000ab")
        let far = InboxConsumerName(subscription: "s", startedAtMilliseconds: .max, nonce: .max).value
        #expect(far == "s-0000000000001-ffffffff")
    }

    @Test func instancesStartedInTheSameMillisecondDiffer() {
        let a = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 42, nonce: 1)
        let b = InboxConsumerName(subscription: "catalog", startedAtMilliseconds: 42, nonce: 2)
        #expect(a != b)
    }
}
