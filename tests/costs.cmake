# How long the slow tests take (seconds, ci preset, this repository's 2-core machine), for
# CTest's COST. With -j, CTest starts tests in descending cost, and on a fresh build it has
# no timings of its own, so it would start them in declaration order: the five-minute
# recording began two thirds of the way through and the serial GUI test waited for it at
# the end. The tests that must run alone come first (the GUI test's cost is set where it
# is added, in CMakeLists.txt, which CTest reads after this file), then the longest. A test
# missing here (new, or renamed) runs after these in declaration order; the names of tests
# a preset does not build are ignored.
set_tests_properties(Packages.InstallWithAptRunAndRegisterThePlayerForStations PROPERTIES COST 9000)
set_tests_properties(MixedFormats.PlaysEveryItemOnOneMp3StreamWithoutSilenceAndPlayersSeeEachTitle PROPERTIES COST 305)
set_tests_properties(Page.PlaysFollowsTheScheduleChartsAndLoadsNothingFromElsewhere PROPERTIES COST 62)
set_tests_properties(LiveStationTest.ListenersPlayItContinuouslyAndInStepAndARestartDoesNotBreakThem PROPERTIES COST 42)
set_tests_properties(Listener.ASlowPlayerIsDroppedWhileTheOthersPlayOn PROPERTIES COST 33)
set_tests_properties(Faults.ListenersOnAStationOfShortItemsAllStayUp PROPERTIES COST 32)
set_tests_properties(LiveVideoStationTest.AListenerPlaysItAsOneTransportStreamAcrossSegments PROPERTIES COST 28)
set_tests_properties(Listener.ALaterItemIsNotLookedUpUntilTheItemOnAirIsHere PROPERTIES COST 22)
set_tests_properties(Scale.ListenersFindEachOtherThroughOpentrackerAlone PROPERTIES COST 22)
set_tests_properties(Listener.ALateListenerJoinsMidItem PROPERTIES COST 20)
set_tests_properties(VideoStation.TheStreamIsOneTransportStreamWithRisingTimestamps PROPERTIES COST 18)
set_tests_properties(Aria2c.DownloadsAnItemFromAListenerWithOnlyThePlaylistsTorrent PROPERTIES COST 18)
set_tests_properties(Scale.AListenerFailsOverToASecondGatewayWithoutAGap PROPERTIES COST 17)
set_tests_properties(Listener.StreamPlaysTheScheduledItemsFromTheScheduledOffset PROPERTIES COST 17)
set_tests_properties(VideoStation.VlcPlaysVideoAcrossItems PROPERTIES COST 16)
set_tests_properties(VideoStation.MpvPlaysVideoAcrossItems PROPERTIES COST 16)
set_tests_properties(Listener.OggStationPlaysAsChainedStreams PROPERTIES COST 15)
set_tests_properties(NoGateway.AnAudienceTunedInAtOnceReadsThePiecesFromTheOriginAboutOnce PROPERTIES COST 15)
set_tests_properties(Gateway.ARefusedPieceAnotherListenerHoldsIsOfferedAgainOnlyAfterTheSwarmHadTime PROPERTIES COST 14)
set_tests_properties(Faults.TheGatewayRestartingMidBroadcastIsNotHeard PROPERTIES COST 13)
set_tests_properties(Listener.IcyTitlesChangeAtItemBoundaries PROPERTIES COST 12)
set_tests_properties(Listener.PlaybackGoesOnFromPeersWhenTheOriginDies PROPERTIES COST 12)
set_tests_properties(Gateway.APieceGrantedToAListenerThatLeavesIsOfferedAtOnceToOneRefusedIt PROPERTIES COST 10)
set_tests_properties(GatewayDashboard.ShowsItemsAndChartsLiveInHumanUnits PROPERTIES COST 10)
